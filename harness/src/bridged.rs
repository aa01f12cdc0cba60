//! Bridge mode: an adapter in another process (any language) runs through
//! the same cases and invariants, against the broker's model served on a
//! real 127.0.0.1 socket, since a child process cannot join a turmoil
//! world. The bridge sends one request at a time, so the order of events
//! is fixed by the case; the times are wall-clock and left out of the trace
//! (every entry is stamped +0), so a trace reads in the order things happened.

use std::sync::Arc;
use std::time::Duration;

use adapters::bridge::{BridgeConfig, ExternalAdapter};
use adapters::http::{HttpSetup, RetryPolicy, SystemClock, TcpDialer};
use adapters::BrokerAdapter;
use broker_models::faults::FaultPlan;

use crate::case::Case;
use crate::control::Control;
use crate::record::{recorded, WireLog};
use crate::suite::{exercise, verdict, CaseRun};
use crate::trace::Trace;
use crate::venue::Venue;
use crate::world::BrokerEndpoint;

/// Runs `case` under `seed` against `command`, bridged, trading at `broker`'s model.
pub fn run_bridged_case(command: &str, broker: &str, case: &'static Case, seed: u64) -> CaseRun {
    let trace = Trace::new();
    let wire = WireLog::default();
    let result = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(bridged(
            command,
            broker,
            case,
            seed,
            trace.clone(),
            wire.clone(),
        )),
        Err(e) => Err(format!("starting a runtime: {e}")),
    };
    CaseRun {
        case: case.id,
        adapter: format!("external:{broker}"),
        seed,
        mutant: None,
        verdict: verdict(result, &trace),
        trace_hash: trace.hash(),
        trace: trace.render(),
        requests: wire.exchanges().len(),
        simulated: Duration::ZERO,
    }
}

async fn bridged(
    command: &str,
    broker: &str,
    case: &'static Case,
    seed: u64,
    trace: Trace,
    wire: WireLog,
) -> Result<Result<crate::suite::Ran, Vec<String>>, String> {
    let plan = FaultPlan::from_toml(case.plan, case.id).map_err(|e| e.to_string())?;
    let model = broker_models::build(broker, seed, plan).map_err(|e| e.to_string())?;
    let (credentials, accounts) = {
        let m = model.shared.lock();
        trace.add_secrets(m.credentials().secrets());
        (m.credentials().to_json(), m.account_numbers())
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("binding 127.0.0.1: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let router = recorded(model.router, broker, trace.clone(), wire.clone());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let setup = HttpSetup {
        dialer: Arc::new(TcpDialer::new().map_err(|e| e.to_string())?),
        clock: Arc::new(SystemClock),
        request_timeout: Duration::from_secs(30),
        retry: RetryPolicy::default(),
        jitter_seed: seed,
    };
    let endpoint = BrokerEndpoint {
        slug: broker.to_string(),
        base_url: broker_models::base_url(broker, addr),
        credentials: credentials.clone(),
        accounts: accounts.clone(),
        control: Control::new(&addr.to_string(), &setup, trace.clone()),
    };
    let adapter = ExternalAdapter::spawn(BridgeConfig {
        command: BridgeConfig::shell(command),
        broker: broker.to_string(),
        base_url: endpoint.base_url.clone(),
        credentials,
        account_id: accounts.first().cloned().unwrap_or_default(),
    })
    .await
    .map_err(|e| format!("starting the adapter: {e}"))?;
    let adapter = Arc::new(adapter);
    let inner: Arc<dyn BrokerAdapter> = adapter.clone();
    let ran = exercise(
        case,
        seed,
        inner,
        Venue::Model(Box::new(endpoint)),
        trace.clone(),
        wire,
    )
    .await;
    let _ = adapter.shutdown().await;
    for line in adapter.stderr_lines() {
        trace.record(crate::trace::Actor::Adapter, format!("stderr: {line}"));
    }
    server.abort();
    Ok(ran)
}
