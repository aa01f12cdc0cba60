//! A world: one turmoil simulation built from a seed, with one host per
//! broker model and one client running the adapter under test. Time is
//! simulated only (tokio's timer under turmoil, from a pinned epoch), the
//! network's latencies come from the seed, and every exchange lands in the
//! world's trace. One seed, one byte-identical trace.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use adapters::http::{EpochClock, HttpSetup, RetryPolicy};
use broker_models::clock::DEFAULT_EPOCH;
use broker_models::faults::{Fault, FaultPlan};
use broker_models::{Connection, MarketSpec};

use crate::control::Control;
use crate::error::SetupError;
use crate::net::{self, TurmoilDialer};
use crate::record::{recorded, WireLog};
use crate::trace::{Actor, Trace};

/// One simulated broker of a world.
#[derive(Debug, Clone)]
pub struct BrokerSpec {
    pub slug: String,
    pub plan: FaultPlan,
}

/// What a world is made of. Same spec, same seed: same trace.
#[derive(Debug, Clone)]
pub struct WorldSpec {
    pub seed: u64,
    pub brokers: Vec<BrokerSpec>,
    /// How much simulated time the world may run (turmoil's default of 10 s
    /// is too short for rate-limit windows; a world that runs out fails).
    pub duration: Duration,
    /// How long an adapter waits for one HTTP answer.
    pub request_timeout: Duration,
    /// Where every venue's prices come from (default: the seeded generator).
    pub market: MarketSpec,
    /// The simulation's step: every host runs once per tick, so a world's
    /// cost follows its simulated time over this. 10 ms by default: a
    /// host's own timers still fire at their instant inside a tick, but a
    /// message crosses the network at a tick's end, so each hop takes 10 or
    /// 20 ms (its drawn latency rounded up), a broker's round trip as the
    /// internet gives it. At 1 ms, stepping idle hosts was two thirds of a
    /// conformance world's cost (`raxx-sim bench world`). Graduation
    /// replays, which wait seconds between bars, step coarser.
    pub tick: Duration,
}

impl WorldSpec {
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            brokers: Vec::new(),
            duration: Duration::from_secs(600),
            request_timeout: Duration::from_secs(2),
            market: MarketSpec::default(),
            tick: Duration::from_millis(10),
        }
    }

    pub fn broker(mut self, slug: &str, plan: FaultPlan) -> Self {
        self.brokers.push(BrokerSpec {
            slug: slug.to_string(),
            plan,
        });
        self
    }
}

/// A broker as the client host sees it: how to connect (what `raxx-sim
/// serve` would print) and its control surface.
#[derive(Debug, Clone)]
pub struct BrokerEndpoint {
    pub connection: Connection,
    pub control: Control,
}

/// Everything the client host gets.
#[derive(Clone)]
pub struct ClientEnv {
    pub seed: u64,
    pub trace: Trace,
    pub wire: WireLog,
    pub brokers: Vec<BrokerEndpoint>,
    /// For adapters: the turmoil dialer, simulated clock, seeded jitter.
    pub setup: HttpSetup,
    /// The world's market, for venues built inside the client (paper).
    pub market: MarketSpec,
    /// The adapters' clock (the one in `setup`): a replay that jumps the
    /// world to its next bar skips it with the brokers' clocks.
    pub clock: EpochClock,
}

impl ClientEnv {
    pub fn broker(&self, slug: &str) -> Option<&BrokerEndpoint> {
        self.brokers.iter().find(|b| b.connection.broker == slug)
    }
}

/// What a world run left behind.
pub struct WorldRun<T> {
    /// The client's result, or why the simulation itself failed.
    pub result: Result<T, SetupError>,
    pub trace: Trace,
    pub wire: WireLog,
}

/// A network fault of a plan, carried out on the turmoil link between the
/// client and one broker for its time window.
struct LinkFault {
    broker: String,
    /// Hold (deliver later) rather than partition (drop).
    hold: bool,
    from: Duration,
    until: Option<Duration>,
    active: bool,
}

/// Steps the simulation to its end, opening and closing link faults as
/// simulated time crosses their windows.
fn run_with_links(
    sim: &mut turmoil::Sim<'_>,
    mut links: Vec<LinkFault>,
    trace: &Trace,
) -> turmoil::Result {
    loop {
        let now = sim.elapsed();
        for l in &mut links {
            let inside = now >= l.from && l.until.is_none_or(|u| now < u);
            if inside == l.active {
                continue;
            }
            l.active = inside;
            let what = if l.hold { "hold" } else { "partition" };
            match (l.hold, inside) {
                (false, true) => sim.partition("client", l.broker.as_str()),
                (false, false) => sim.repair("client", l.broker.as_str()),
                (true, true) => sim.hold("client", l.broker.as_str()),
                (true, false) => sim.release("client", l.broker.as_str()),
            }
            let state = if inside { "begins" } else { "ends" };
            trace.record_at(
                now,
                Actor::Control,
                format!("network {what} client<->{} {state}", l.broker),
            );
        }
        if sim.step()? {
            return Ok(());
        }
    }
}

/// The simulated epoch in Unix milliseconds: a Monday with the market open.
pub fn epoch_ms() -> i64 {
    DEFAULT_EPOCH.millis()
}

/// Runs `client` in a world built from `spec`.
pub fn run_world<T, F, Fut>(spec: &WorldSpec, client: F) -> WorldRun<T>
where
    T: 'static,
    F: FnOnce(ClientEnv) -> Fut + 'static,
    Fut: Future<Output = T> + 'static,
{
    let trace = Trace::new();
    let wire = WireLog::default();
    let epoch = UNIX_EPOCH + Duration::from_millis(u64::try_from(epoch_ms()).unwrap_or(0));
    let mut sim = turmoil::Builder::new()
        .rng_seed(spec.seed)
        .epoch(epoch)
        .simulation_duration(spec.duration)
        .tick_duration(spec.tick)
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(1 + spec.seed % 20))
        .build();

    let setup = HttpSetup {
        dialer: Arc::new(TurmoilDialer),
        clock: Arc::new(EpochClock::new(epoch_ms())),
        request_timeout: spec.request_timeout,
        retry: RetryPolicy::default(),
        jitter_seed: spec.seed ^ 0x6a69_7474_6572, // "jitter"
    };
    let mut brokers = Vec::new();
    for b in &spec.brokers {
        // The model is built again inside its host (so its clock is that
        // host's); this copy only tells the client its credentials and
        // accounts, which the seed fixes.
        let model = match broker_models::build(&b.slug, spec.seed, b.plan.clone(), &spec.market) {
            Ok(m) => m,
            Err(e) => {
                return WorldRun {
                    result: Err(SetupError::Model {
                        broker: b.slug.clone(),
                        source: e,
                    }),
                    trace,
                    wire,
                }
            }
        };
        trace.add_secrets(model.secrets().iter().map(String::as_str));
        let host = format!("{}:{}", b.slug, net::PORT);
        let connection = model.connection(&host);
        brokers.push(BrokerEndpoint {
            control: Control::new(&host, &connection, &setup, trace.clone()),
            connection,
        });
        let (slug, seed, plan, market) = (
            b.slug.clone(),
            spec.seed,
            b.plan.clone(),
            spec.market.clone(),
        );
        let (trace, wire) = (trace.clone(), wire.clone());
        let name = slug.clone();
        sim.host(name.as_str(), move || {
            let (slug, plan, trace, wire) =
                (slug.clone(), plan.clone(), trace.clone(), wire.clone());
            let market = market.clone();
            async move {
                let model = broker_models::build(&slug, seed, plan, &market)?;
                net::serve(recorded(model, trace, wire)).await?;
                Ok(())
            }
        });
    }

    let env = ClientEnv {
        seed: spec.seed,
        trace: trace.clone(),
        wire: wire.clone(),
        brokers,
        setup,
        market: spec.market.clone(),
        clock: EpochClock::new(epoch_ms()),
    };
    let out: Rc<RefCell<Option<T>>> = Rc::new(RefCell::new(None));
    let slot = out.clone();
    sim.client("client", async move {
        let mut env = env;
        // The adapters' clock starts here, inside the client's runtime:
        // started outside, it would count the real time between building
        // the world and starting it, and differ from run to run.
        env.clock = EpochClock::new(epoch_ms());
        env.setup.clock = Arc::new(env.clock.clone());
        let value = client(env).await;
        *slot.borrow_mut() = Some(value);
        Ok(())
    });
    let windows: Vec<LinkFault> = spec
        .brokers
        .iter()
        .flat_map(|b| {
            b.plan
                .rules
                .iter()
                .filter(|r| r.fault.is_network())
                .map(|r| LinkFault {
                    broker: b.slug.clone(),
                    hold: r.fault == Fault::NetworkHold,
                    from: Duration::from_millis(r.from_ms),
                    until: r.until_ms.map(Duration::from_millis),
                    active: false,
                })
        })
        .collect();
    let result = match run_with_links(&mut sim, windows, &trace) {
        Ok(()) => out.borrow_mut().take().ok_or(SetupError::NoResult),
        Err(e) => Err(SetupError::Simulation(e.to_string())),
    };
    WorldRun {
        result,
        trace,
        wire,
    }
}
