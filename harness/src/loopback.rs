//! Loopback mode: the same cases and invariants against the broker's model
//! served on a real 127.0.0.1 socket, on the wall clock, with the
//! production TCP dialer. Two clients run this way:
//! - an adapter in another process (any language) over the process bridge,
//!   since a child process cannot join a turmoil world; the bridge sends one
//!   request at a time, so the order of events is fixed by the case;
//! - a built-in adapter exactly as production builds it, to show it works
//!   over a real transport and not only over the simulated network.
//!
//! The times are wall-clock and left out of the trace (every entry is
//! stamped +0), so a trace reads in the order things happened.

use std::sync::Arc;
use std::time::Duration;

use adapters::bridge::{BridgeConfig, ExternalAdapter};
use adapters::http::{EpochClock, HttpSetup, RetryPolicy, TcpDialer};
use adapters::{BrokerAdapter, Description};
use broker_models::clock::DEFAULT_EPOCH;
use broker_models::faults::FaultPlan;
use broker_models::Connection;

use crate::brokers::{Broker, Built};
use crate::case::{unmet_at, Case};
use crate::control::Control;
use crate::error::SetupError;
use crate::faketime;
use crate::mutants::Mutant;
use crate::pace::Pace;
use crate::record::{recorded, WireLog};
use crate::suite::{exercise, verdict, CaseRun, Setting};
use crate::trace::Trace;
use crate::venue::Venue;
use crate::world::BrokerEndpoint;

/// What trades against the model on loopback.
#[derive(Clone, Copy)]
pub enum Client<'a> {
    /// An adapter command, over the process bridge.
    External(&'a str),
    /// The broker's own built-in adapter.
    Builtin(&'static Broker),
}

/// What an external adapter says it is, asked once (a child started
/// against `broker`'s model and shut down again): a sweep then skips the
/// cases it cannot run without starting a child for each.
pub fn describe_external(
    command: &str,
    broker: &str,
    pace: Pace,
) -> Result<Description, SetupError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(SetupError::Runtime)?;
    rt.block_on(async {
        let model = broker_models::build(broker, 0, FaultPlan::default(), &Default::default())
            .map_err(|source| SetupError::Model {
                broker: broker.to_string(),
                source,
            })?;
        model.shared.lock().set_pace(pace.factor());
        let started = model.shared.lock().now();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(SetupError::Bind)?;
        let addr = listener.local_addr().map_err(SetupError::Bind)?;
        let c = model.connection(addr);
        let server = tokio::spawn(serve_on(listener, model.router));
        let adapter = spawn_external(command, &c, pace, started).await?;
        let d = adapter.describe();
        let _ = adapter.shutdown().await;
        server.abort();
        Ok(d)
    })
}

/// Serves a model on loopback until its task is aborted.
async fn serve_on(listener: tokio::net::TcpListener, router: axum::Router) {
    let timeout = broker_models::socket::HEADER_READ_TIMEOUT;
    let _ = broker_models::socket::serve(listener, router, timeout, std::future::pending()).await;
}

/// Starts `command` over the bridge against the model behind `c`, its
/// clock at `pace` from the model's `started`.
async fn spawn_external(
    command: &str,
    c: &Connection,
    pace: Pace,
    started: mbt::Timestamp,
) -> Result<ExternalAdapter, SetupError> {
    ExternalAdapter::spawn(BridgeConfig {
        command: BridgeConfig::shell(command),
        broker: c.broker.clone(),
        base_url: c.base_url.clone(),
        credentials: c.credentials.clone(),
        account_id: c.account(),
        pace: pace.factor(),
        env: faketime::env(pace, started)?,
    })
    .await
    .map_err(SetupError::Adapter)
}

/// Why `case` cannot run against an external adapter described by `d`
/// (one that trades, at a broker model), or None when it can. A case for
/// read-only sources whose needs it meets runs, and fails as missing, as
/// it does in process.
pub fn skip_reason(case: &Case, d: &Description) -> Option<String> {
    case.needs.iter().find_map(|n| unmet_at(*n, d, true))
}

/// The run of a case skipped before any child was started.
pub fn skipped(
    case: &'static Case,
    command: &str,
    broker: &str,
    seed: u64,
    reason: String,
) -> CaseRun {
    let trace = Trace::new();
    CaseRun {
        case: case.id,
        adapter: format!("external:{broker}"),
        command: Some(command.to_string()),
        seed,
        mutant: None,
        verdict: crate::suite::Verdict::NotApplicable { reason },
        trace_hash: trace.hash(),
        trace: String::new(),
        requests: 0,
        simulated: Duration::ZERO,
    }
}

/// Runs `case` under `seed` against `command`, bridged, trading at
/// `broker`'s model, the child and the model at `pace`.
pub fn run_bridged_case(
    command: &str,
    broker: &str,
    case: &'static Case,
    seed: u64,
    pace: Pace,
) -> CaseRun {
    run_loopback_case(Client::External(command), broker, case, seed, pace, None)
}

/// [`run_bridged_case`] with a path mutant: the external adapter is sound,
/// the order path the case builds around it has the mutant's bug.
pub fn run_bridged_path_mutant(
    command: &str,
    broker: &str,
    case: &'static Case,
    seed: u64,
    pace: Pace,
    mutant: &'static Mutant,
) -> CaseRun {
    run_loopback_case(
        Client::External(command),
        broker,
        case,
        seed,
        pace,
        Some(mutant),
    )
}

/// Runs `case` under `seed` with `client` trading at `broker`'s model on
/// loopback. A built-in adapter runs at real speed (its clock is the
/// machine's); an external one at `pace`.
pub fn run_loopback_case(
    client: Client<'_>,
    broker: &str,
    case: &'static Case,
    seed: u64,
    pace: Pace,
    mutant: Option<&'static Mutant>,
) -> CaseRun {
    let pace = match client {
        Client::External(_) => pace,
        Client::Builtin(_) => Pace::REAL,
    };
    let trace = Trace::new();
    let wire = WireLog::default();
    let result = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(loopback(
            client,
            broker,
            Setting {
                case,
                seed,
                pace,
                flaw: mutant.and_then(Mutant::flaw),
            },
            trace.clone(),
            wire.clone(),
        )),
        Err(e) => Err(SetupError::Runtime(e)),
    };
    CaseRun {
        case: case.id,
        adapter: match client {
            Client::External(_) => format!("external:{broker}"),
            Client::Builtin(_) => format!("{broker} (loopback)"),
        },
        command: match client {
            Client::External(command) => Some(command.to_string()),
            Client::Builtin(_) => None,
        },
        seed,
        mutant: mutant.map(|m| m.id),
        verdict: verdict(result, &trace),
        trace_hash: trace.hash(),
        trace: trace.render(),
        requests: wire.exchanges().len(),
        simulated: Duration::ZERO,
    }
}

async fn loopback(
    client: Client<'_>,
    broker: &str,
    setting: Setting,
    trace: Trace,
    wire: WireLog,
) -> Result<Result<crate::suite::Ran, Vec<String>>, SetupError> {
    let Setting {
        case, seed, pace, ..
    } = setting;
    let plan = FaultPlan::from_toml(case.plan, case.id)?;
    let model = broker_models::build(
        broker,
        seed,
        plan.clone(),
        &broker_models::MarketSpec::default(),
    )
    .map_err(|source| SetupError::Model {
        broker: broker.to_string(),
        source,
    })?;
    model.shared.lock().set_pace(pace.factor());
    let started = model.shared.lock().now();
    // No simulation runs here: the trace reads the model's clock, as the
    // broker's own events are timed.
    let shared = model.shared.clone();
    trace.follow(move || {
        let since = shared.lock().now().millis() - DEFAULT_EPOCH.millis();
        Duration::from_millis(u64::try_from(since).unwrap_or(0))
    });
    trace.add_secrets(model.secrets().iter().map(String::as_str));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(SetupError::Bind)?;
    let addr = listener.local_addr().map_err(SetupError::Bind)?;
    let connection = model.connection(addr);
    let router = recorded(model, trace.clone(), wire.clone());
    let server = tokio::spawn(serve_on(listener, router));
    let setup = HttpSetup {
        dialer: Arc::new(TcpDialer::new().map_err(SetupError::Dialer)?),
        // The adapter reads the model's time, as an external adapter does
        // under faketime: a vendor's reset timestamp means the model's clock.
        clock: Arc::new(EpochClock::new(started.millis())),
        request_timeout: Duration::from_secs(30),
        retry: RetryPolicy::default(),
        jitter_seed: seed,
    };
    let endpoint = BrokerEndpoint {
        control: Control::new(&addr.to_string(), &connection, &setup, trace.clone()),
        connection,
    };
    let c = endpoint.connection.clone();
    let (inner, bridge) = match client {
        Client::Builtin(b) => (b.build(&c, setup.clone()), None),
        Client::External(command) => {
            let adapter = spawn_external(command, &c, pace, started).await?;
            let adapter = Arc::new(adapter);
            let trading: Arc<dyn BrokerAdapter> = adapter.clone();
            (Built::Trading(trading), Some(adapter))
        }
    };
    // The child took real time to come up (simulated time at `pace`):
    // the case's fault windows start now, when the case does.
    endpoint
        .control
        .set_faults(&plan)
        .await
        .map_err(SetupError::Faults)?;
    let ran = exercise(
        setting,
        inner,
        Venue::Model(Box::new(endpoint)),
        trace.clone(),
        wire,
    )
    .await;
    if let Some(adapter) = bridge {
        let _ = adapter.shutdown().await;
        for line in adapter.stderr_lines() {
            trace.record(crate::trace::Actor::Adapter, format!("stderr: {line}"));
        }
    }
    server.abort();
    Ok(ran)
}
