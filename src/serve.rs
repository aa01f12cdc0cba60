//! `raxx-sim serve <broker>`: one broker model on a real socket, until
//! SIGINT or SIGTERM. The first stdout line is one JSON object telling a
//! client (a vendor SDK, an external adapter) where and how to connect,
//! and the token its control surface (`/_sim/`) asks for.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use serde_json::json;

use broker_models::faults::FaultPlan;
use broker_models::socket;

#[derive(Args)]
pub struct ServeArgs {
    /// Which broker to serve (`raxx-sim brokers` lists them).
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(broker_models::vendor::slugs()))]
    broker: String,
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// Seed for ids, credentials, prices, fills and fault decisions.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// A fault plan (TOML), e.g. scenarios/faults/submit-outage.toml.
    #[arg(long)]
    faults: Option<PathBuf>,
    /// Switch the vendor's documented rate limits off (for load tests).
    #[arg(long)]
    no_rate_limits: bool,
    /// The token the control surface (`/_sim/`) asks for, instead of the
    /// one drawn from the seed (which anyone who knows the seed can work
    /// out). Printed under "control" like the seeded one.
    #[arg(long, value_name = "TOKEN", value_parser = control_token)]
    control_token: Option<String>,
    /// A host name the model answers to besides IP addresses and
    /// `localhost` (repeatable; `*` for any). Requests addressed to any other
    /// name are refused with 403, so that a web page cannot reach the model
    /// through a name it controls (DNS rebinding).
    #[arg(long, value_name = "NAME")]
    allow_host: Vec<String>,
    /// How many ended orders to keep (with every open one): older ones are
    /// forgotten, so that memory stays flat under sustained load; `all`
    /// keeps every order, as a simulation run does.
    #[arg(long, value_name = "N|all", default_value = "10000", value_parser = keep_orders)]
    keep_orders: KeepOrders,
}

/// What `--keep-orders` says: a count, or every order (None).
#[derive(Clone, Copy)]
pub struct KeepOrders(pub Option<usize>);

pub fn keep_orders(value: &str) -> Result<KeepOrders, String> {
    match value {
        "all" => Ok(KeepOrders(None)),
        n => match n.parse::<usize>() {
            Ok(n) if n > 0 => Ok(KeepOrders(Some(n))),
            _ => Err("a number of orders above 0, or `all`".into()),
        },
    }
}

/// A control token must fit in a header and be worth guessing at.
fn control_token(token: &str) -> Result<String, String> {
    if token.len() < 16 || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("a control token is at least 16 visible ASCII characters".into());
    }
    Ok(token.to_string())
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let plan = match &args.faults {
        Some(path) => FaultPlan::from_file(path)?,
        None => FaultPlan::default(),
    };
    // One thread: every request takes the model's one lock, so worker
    // threads only handed it to each other (futex wake-ups and task
    // switches were a fifth of a POST's CPU under wrk; 67 -> 37 us of
    // server CPU per POST /v2/orders, scripts/side-by-side).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let model = broker_models::build(
            &args.broker,
            args.seed,
            plan,
            &broker_models::MarketSpec::default(),
        )?;
        if args.no_rate_limits {
            model.shared.lock().disable_rate_limits();
        }
        if let Some(token) = args.control_token {
            model.shared.lock().set_control_token(token);
        }
        if let Some(keep) = args.keep_orders.0 {
            model.shared.lock().set_retention(keep);
        }
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("binding {}", args.addr))?;
        let addr = listener.local_addr()?;
        println!("{}", json!(model.connection(addr)));
        socket::serve(
            listener,
            socket::AllowedHosts::new(args.allow_host).guard(model.router),
            socket::HEADER_READ_TIMEOUT,
            shutdown_signal(),
        )
        .await
        .context("serving")?;
        Ok(ExitCode::SUCCESS)
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        biased;
        _ = ctrl_c => {},
        _ = term => {},
    }
}
