//! Every graduation scenario in scenarios/graduation/ replays to the end,
//! the same file giving the same bytes, and matches its reviewed snapshot
//! in snapshots/graduation/ (in CI, CI=true, a changed or missing snapshot
//! fails the run). Each scenario also says what it is there to show.

use std::path::{Path, PathBuf};

use harness::graduation;

fn files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/graduation");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios/graduation/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

fn journey(name: &str) -> graduation::Journey {
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../scenarios/graduation/{name}.toml"));
    graduation::replay(&graduation::load(&file).unwrap_or_else(|e| panic!("{e}")))
}

#[test]
fn every_graduation_replays_alike_and_matches_its_snapshot() {
    let files = files();
    assert!(files.len() >= 4, "{files:?}");
    let mut names = Vec::new();
    for file in &files {
        let loaded = graduation::load(file).unwrap_or_else(|e| panic!("{e}"));
        let run = graduation::replay(&loaded);
        assert_eq!(run.problem, None, "{}", run.timeline());
        let timeline = run.timeline();
        assert_eq!(
            graduation::replay(&loaded).timeline(),
            timeline,
            "{} replayed twice differs",
            loaded.name
        );
        insta::with_settings!({
            snapshot_path => "../../snapshots/graduation",
            prepend_module_to_snapshot => false,
            description => loaded.graduation.description.clone(),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(loaded.name.clone(), timeline);
        });
        names.push(format!("{}.snap", loaded.name));
    }
    let stored =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../snapshots/graduation"))
            .expect("snapshots/graduation/");
    let orphans: Vec<String> = stored
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".snap") && !names.contains(n))
        .collect();
    assert!(
        orphans.is_empty(),
        "snapshots no graduation writes: {orphans:?}"
    );
}

#[test]
fn a_clean_graduation_opens_the_gate_then_trades_live() {
    let j = journey("clean-alpaca");
    let g = j.graduated.as_ref().expect("graduated");
    assert!(g.reason.contains("3 of 3"), "{}", g.reason);
    assert!(j.live.filled() > 0, "{}", j.timeline());
    // Nothing live before the gate opened.
    let opened = j
        .lines
        .iter()
        .position(|l| l.kind == "gate" && l.text.starts_with("opens"))
        .unwrap();
    assert!(j.lines[..opened].iter().all(|l| l.kind != "live"));
}

#[test]
fn a_user_without_paper_cycles_never_reaches_the_broker() {
    let j = journey("never-graduates");
    assert_eq!(j.graduated, None);
    assert!(
        j.decision().contains("not graduated: 0 of 2"),
        "{}",
        j.decision()
    );
    assert!(j.lines.iter().all(|l| l.kind != "live"));
}

#[test]
fn an_outage_on_the_first_live_day_is_sent_again_until_the_broker_is_back() {
    let j = journey("outage-on-first-live-day");
    let t = j.timeline();
    assert!(
        t.contains("refused, timeout (503)") || t.contains("refused, unavailable (503)"),
        "{t}"
    );
    assert!(t.contains("sends again dip-1-entry"), "{t}");
    assert!(t.contains("dip-1-entry: filled"), "{t}");
}

#[test]
fn a_tier_c_connection_is_refused_in_the_store_every_time() {
    let j = journey("tier-c-never-trades");
    // The gate opens on paper cycles, and the decision says what that is worth.
    assert!(j.graduated.is_some());
    assert!(!j.trades);
    assert!(
        j.decision().contains("but plaid is read-only (Tier C)"),
        "{}",
        j.decision()
    );
    assert!(graduation::report::html(&j).contains("class=\"read-only\""));
    assert!(j.live.refused() > 0);
    assert_eq!(j.live.filled(), 0);
    assert!(j
        .lines
        .iter()
        .filter(|l| l.kind == "live" && l.text.contains("refused"))
        .all(|l| l.text.contains("read_only (403)")));
}

/// A file with `market` and `strategies` in place of the clean graduation's.
fn with(market: &str, strategies: &str) -> Result<graduation::Loaded, String> {
    let text = format!(
        "title = \"t\"\nseed = 1\nbroker = \"alpaca\"\n[gate]\nrequired_cycles = 1\n\
         [market]\n{market}\ndays = 5\nbars_per_day = 7\ndaily_volatility_percent = \"2\"\n{strategies}"
    );
    graduation::parse("t", &text, Path::new("."))
}

fn strategy(name: &str, trade: &str) -> String {
    format!(
        "[[strategy]]\nname = \"{name}\"\nquantity = \"1\"\ntrade = {trade}\n\
         entry = {{ when = {{ kind = \"always\" }} }}\n"
    )
}

#[test]
fn a_file_that_cannot_be_replayed_says_why() {
    let aapl = r#"{ kind = "equity", symbol = "AAPL", side = "buy" }"#;
    let msft = r#"{ kind = "equity", symbol = "MSFT", side = "buy" }"#;
    let two = r#"symbols = { AAPL = "100", MSFT = "400" }"#;
    let both = with(two, &(strategy("a", aapl) + &strategy("m", msft))).expect("two symbols");
    assert_eq!(both.graduation.strategies.len(), 2);
    let refused = [
        (with(two, ""), "no [[strategy]]"),
        (
            with(two, &(strategy("a", aapl) + &strategy("a", msft))),
            "two strategies are named \"a\"",
        ),
        (
            with(r#"symbols = { AAPL = "100" }"#, &strategy("m", msft)),
            "trades MSFT, which the market does not quote",
        ),
        (
            with("symbols = {}", &strategy("a", aapl)),
            "names no symbol",
        ),
        (
            with(r#"symbols = { AAPL = "100.001" }"#, &strategy("a", aapl)),
            "in cents",
        ),
        (
            with(
                two,
                &strategy(
                    "o",
                    r#"{ kind = "option", occ = "NVDA  260220C00100000", side = "buy" }"#,
                ),
            ),
            "trades NVDA, which the market does not quote",
        ),
    ];
    for (result, why) in refused {
        let e = result.expect_err(why);
        assert!(e.contains(why), "{e}");
    }
}

/// `raxx-sim bench graduate`'s file: a year of one strategy's rules on
/// five symbols.
#[test]
fn the_year_benchmark_file_is_a_year_on_five_symbols() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/graduation-year.toml");
    let loaded = graduation::load(&file).unwrap_or_else(|e| panic!("{e}"));
    let g = &loaded.graduation;
    let market = g.market.as_ref().expect("a walk");
    assert_eq!(market.symbols.len(), 5);
    assert_eq!(market.days, 250);
    assert_eq!(loaded.bars.len(), 250 * 7);
    assert_eq!(g.strategies.len(), 5);
    let rules: Vec<_> = g
        .strategies
        .iter()
        .map(|s| (&s.entry, &s.exit, s.quantity))
        .collect();
    assert!(
        rules.windows(2).all(|w| w[0] == w[1]),
        "one strategy's rules"
    );
}

#[test]
fn the_committed_json_schema_is_the_generated_one() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/graduation/graduation.schema.json");
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    let generated = serde_json::to_string_pretty(&graduation::schema()).expect("a schema") + "\n";
    // Not assert_eq!: two whole schemas would bury the one line that says what to do.
    assert!(
        committed == generated,
        "scenarios/graduation/graduation.schema.json is stale: run \
         `cargo run -- graduate --schema > scenarios/graduation/graduation.schema.json`"
    );
}

#[test]
fn each_tier_a_broker_has_a_clean_graduation() {
    for (name, broker) in [
        ("clean-alpaca", "alpaca"),
        ("clean-tradier", "tradier"),
        ("clean-tastytrade", "tastytrade"),
        ("clean-schwab", "schwab"),
    ] {
        let j = journey(name);
        assert_eq!(j.broker, broker);
        assert!(j.trades);
        assert!(!j.decision().contains("read-only"));
        assert!(j.graduated.is_some(), "{}", j.timeline());
        assert!(j.live.filled() >= 4, "{}", j.timeline());
        assert_eq!(j.live.refused(), 0, "{}", j.timeline());
        assert!(
            j.fills
                .iter()
                .any(|f| f.live && f.side == adapters::Side::Sell),
            "{name}: no live round trip"
        );
    }
    // Two symbols, both traded live.
    let j = journey("clean-tastytrade");
    for symbol in ["AAPL", "NVDA"] {
        assert!(
            j.fills.iter().any(|f| f.live && f.symbol == symbol),
            "no live {symbol} fill"
        );
    }
}

#[test]
fn an_option_strategy_is_marked_from_its_underlying_at_each_bar() {
    let j = journey("options-at-tastytrade");
    let call = "AAPL  260220C00190000";
    // Every bar quotes the call beside AAPL, its value falling with the
    // time left when AAPL stands still.
    let market: Vec<_> = j.lines.iter().filter(|l| l.kind == "market").collect();
    assert!(
        market.iter().all(|l| l.text.contains(call)),
        "{}",
        j.timeline()
    );
    // The call and the spread's two legs.
    assert!(j.bars.iter().all(|b| b.options.len() == 3));
    // Paper, then live: the call itself is sent, and fills at a premium
    // (the chart draws it where AAPL was).
    assert!(j.graduated.is_some(), "{}", j.timeline());
    for kind in ["paper", "live"] {
        assert!(
            j.lines
                .iter()
                .any(|l| l.kind == kind && l.text.contains(&format!("buy 2 {call} market"))),
            "{kind}: {}",
            j.timeline()
        );
    }
    let live = j.fills.iter().filter(|f| f.live).count();
    assert!(live >= 4, "{}", j.timeline());
    // The spread is sold at its limit or better and bought back with a
    // limit past its mark: tastytrade takes no multi-leg market order.
    let spread: Vec<&str> = j
        .lines
        .iter()
        .filter(|l| l.kind == "live" && l.text.contains("put-spread-1-exit"))
        .map(|l| l.text.as_str())
        .collect();
    assert!(
        spread.iter().any(|t| t.contains(
            "spread (buy 1 AAPL  260220P00185000, sell 1 AAPL  260220P00180000) limit at"
        )),
        "{spread:#?}"
    );
    assert!(
        spread.iter().any(|t| t.contains(": filled 1 @")),
        "{spread:#?}"
    );
    assert!(j.fills.iter().all(|f| f.symbol == "AAPL"));
    assert_eq!(j.live.refused(), 0, "{}", j.timeline());
}

#[test]
fn an_option_series_that_expires_during_the_replay_is_refused() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/graduation/options-at-tastytrade.toml"),
    )
    .expect("the scenario");
    // January's series expires before the eighth trading day.
    let early = text.replace("AAPL  260220C00190000", "AAPL  260109C00190000");
    let err = graduation::parse("early", &early, Path::new("."))
        .err()
        .unwrap_or_default();
    assert!(
        err.contains("expires on 2026-01-09") && err.contains("2026-01-14"),
        "{err}"
    );
}

#[test]
fn schwab_refuses_to_trade_a_week_after_the_login() {
    let j = journey("schwab-weekly-reauthorization");
    let live: Vec<_> = j.lines.iter().filter(|l| l.kind == "live").collect();
    // Trades fill for the first week: the world's clock, the adapter's
    // and Schwab's, follow the bars, so the tokens age with them.
    let refused = live
        .iter()
        .position(|l| l.text.contains("refused, reauth_required"))
        .unwrap_or_else(|| panic!("never asked to log in again:\n{}", j.timeline()));
    assert!(
        live[..refused].iter().any(|l| l.text.contains("filled")),
        "{}",
        j.timeline()
    );
    // Seven days from the connection (2026-01-05), and every order since.
    let first = live[refused];
    assert_eq!(
        first.at.date_naive().to_string(),
        "2026-01-12",
        "{}",
        first.text
    );
    assert!(
        first.text.contains("unsupported_token_type"),
        "{}",
        first.text
    );
    assert!(
        live[refused..]
            .iter()
            .filter(|l| l.text.contains(" refused, "))
            .all(|l| l.text.contains("reauth_required")),
        "{}",
        j.timeline()
    );
    assert!(!live[refused..].iter().any(|l| l.text.contains("filled")));
}

#[test]
fn a_partial_fill_day_is_followed_fill_by_fill() {
    let j = journey("partial-fill-heavy-day");
    let live: Vec<&str> = j
        .lines
        .iter()
        .filter(|l| l.kind == "live" && l.day == 4)
        .map(|l| l.text.as_str())
        .collect();
    let partial: Vec<&&str> = live
        .iter()
        .filter(|t| t.contains("partially_filled"))
        .collect();
    assert!(partial.len() >= 3, "{live:#?}");
    // The same order, more filled each time it is seen, then whole.
    let order = partial[0].split(':').next().expect("an order id");
    assert!(
        live.iter()
            .any(|t| t.starts_with(&format!("{order}: filled"))),
        "{live:#?}"
    );
    assert!(!live.iter().any(|t| t.contains("refused")), "{live:#?}");
}

#[test]
fn a_household_trades_each_strategy_at_its_own_broker() {
    let j = journey("household-two-brokers");
    assert_eq!(j.connections(), ["alpaca", "tradier"]);
    assert!(j.graduated.is_some());
    assert!(j.household[0].graduated.is_some());
    // Each broker's lines carry only its own strategy's orders: nothing
    // of one is sent to, or netted at, the other.
    let live = |who: &str| -> Vec<String> {
        j.lines
            .iter()
            .filter(|l| l.kind == "live")
            .filter_map(|l| l.text.strip_prefix(&format!("{who}: ")).map(str::to_string))
            .collect()
    };
    let (alpaca, tradier) = (live("alpaca"), live("tradier"));
    assert!(alpaca.iter().any(|t| t.contains("filled")), "{alpaca:#?}");
    assert!(tradier.iter().any(|t| t.contains("filled")), "{tradier:#?}");
    assert!(alpaca
        .iter()
        .all(|t| t.contains("dip-aapl") && !t.contains("MSFT")));
    assert!(tradier
        .iter()
        .all(|t| t.contains("dip-msft") && !t.contains("AAPL")));
    // Tradier's outage refuses its orders only; Alpaca trades on.
    assert!(tradier
        .iter()
        .any(|t| t.contains("refused, unavailable (503)")));
    assert!(alpaca.iter().all(|t| !t.contains("refused")));
    let down = j
        .lines
        .iter()
        .filter(|l| l.kind == "live" && l.day == 5 && (2..5).contains(&l.bar))
        .filter(|l| l.text.starts_with("alpaca: ") && l.text.contains("filled"));
    assert!(down.count() > 0, "{}", j.timeline());
    assert!(j.decision().starts_with("decision: alpaca graduated"));
}

#[test]
fn a_household_file_names_each_strategy_once_at_brokers_of_their_own() {
    let base = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/graduation/household-two-brokers.toml"),
    )
    .expect("the household file");
    let refused = [
        (
            base.replace(r#"strategies = ["dip-msft"]"#, r#"strategies = ["dip-nvda"]"#),
            "names no strategy \"dip-nvda\"",
        ),
        (
            base.replace(r#"broker = "tradier""#, r#"broker = "alpaca""#),
            "alpaca is a connection twice",
        ),
        (
            base.replacen(r#"broker = "tradier"
label"#, r#"broker = "schwab"
label"#, 1),
            "strikes schwab, not a connection of the file",
        ),
        (
            base.clone() + "\n[[household]]\nbroker = \"schwab\"\nstrategies = [\"dip-msft\"]\n",
            "traded through two connections",
        ),
        (
            base.clone() + "\n[[household]]\nbroker = \"snaptrade-etrade\"\nstrategies = []\n\n[[household]]\nbroker = \"snaptrade-ibkr\"\nstrategies = []\n",
            "are both reached through snaptrade",
        ),
    ];
    for (text, why) in refused {
        let e = graduation::parse("h", &text, Path::new(".")).expect_err(why);
        assert!(e.contains(why), "{e}");
    }
}

#[test]
fn recorded_bars_are_the_market_bar_by_bar() {
    let j = journey("recorded-week");
    assert_eq!(j.bars.len(), 35);
    assert_eq!((j.bars[7].day, j.bars[7].bar), (2, 1));
    let csv = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/data/graduation-week.csv"),
    )
    .expect("the bars");
    // The first SPY row's close is the first bar's SPY price.
    let spy = csv
        .lines()
        .find(|l| l.contains(",SPY,"))
        .and_then(|l| l.split(',').nth(5))
        .expect("a SPY row");
    assert_eq!(j.bars[0].prices["SPY"].to_string(), spy);
    assert!(j.graduated.is_some(), "{}", j.timeline());
}

#[test]
fn recorded_bars_must_give_every_symbol_each_time() {
    let dir = std::env::temp_dir().join(format!("raxx-sim-recorded-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a folder");
    std::fs::write(
        dir.join("gap.csv"),
        "time,symbol,open,high,low,close,volume\n\
         2026-03-02T14:30:00Z,AAPL,1,1,1,1,1\n2026-03-02T14:30:00Z,SPY,2,2,2,2,1\n\
         2026-03-02T15:30:00Z,AAPL,1,1,1,1,1\n",
    )
    .expect("a file");
    let file = |market: &str| {
        format!(
            "title = \"t\"\nseed = 1\nbroker = \"alpaca\"\n[gate]\nrequired_cycles = 1\n{market}\n{}",
            strategy("a", r#"{ kind = "equity", symbol = "AAPL", side = "buy" }"#)
        )
    };
    let refused = [
        ("[recorded]\nbars = \"gap.csv\"", "has no SPY"),
        ("[recorded]\nbars = \"none.csv\"", "cannot read"),
        ("[recorded]\nbars = \"/etc/passwd\"", "relative to the file"),
        ("", "either walked ([market]) or recorded ([recorded])"),
    ];
    for (market, why) in refused {
        let e = graduation::parse("r", &file(market), &dir).expect_err(why);
        assert!(e.contains(why), "{e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
