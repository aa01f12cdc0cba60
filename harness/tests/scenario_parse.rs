//! Every kind of bad scenario file is refused with the file, the line and
//! the key named; a good one loads.

use std::path::{Path, PathBuf};

use harness::scenario::{parse, parse_each, ScenarioError};

fn faults_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/faults")
}

const HEAD: &str = "description = \"d\"\nseed = 1\n\n[[connections]]\nbroker = \"alpaca\"\n";

const SUBMIT: &str = "\n[[steps]]\nat_ms = 0\naction = \"submit\"\nid = \"a\"\nsymbol = \"AAPL\"\nside = \"buy\"\nquantity = \"1\"\n";

fn refused(text: &str) -> ScenarioError {
    match parse(text, "bad.toml", &faults_dir()) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

/// Refused at `line`, with every one of `words` in the message.
fn assert_refused(text: &str, line: usize, words: &[&str]) {
    let e = refused(text);
    assert_eq!(e.file, "bad.toml");
    assert_eq!(e.line, line, "{e}");
    let shown = e.to_string();
    assert!(shown.starts_with(&format!("bad.toml:{line}: ")), "{shown}");
    for w in words {
        assert!(shown.contains(w), "{shown:?} does not name {w:?}");
    }
}

#[test]
fn a_good_file_loads() {
    let text = format!("{HEAD}{SUBMIT}\n[[expect]]\norder = \"a\"\nstatus = \"filled\"\n");
    let loaded = parse(&text, "good.toml", &faults_dir()).expect("loads");
    assert_eq!(loaded.name, "good");
    assert_eq!(loaded.scenario.steps.len(), 1);
}

#[test]
fn toml_syntax_errors_name_the_line() {
    assert_refused(&format!("{HEAD}\n[[steps]]\nat_ms = = 3\n"), 8, &["at_ms"]);
}

#[test]
fn unknown_keys_are_named() {
    assert_refused(&format!("{HEAD}seeed = 2\n"), 6, &["seeed"]);
    assert_refused(
        &format!("{HEAD}{SUBMIT}colour = \"red\"\n"),
        14,
        &["colour"],
    );
}

#[test]
fn wrong_types_are_named() {
    assert_refused(
        "description = \"d\"\nseed = \"one\"\n",
        2,
        &["string", "u64"],
    );
    assert_refused(
        &format!("{HEAD}\n[[steps]]\nat_ms = -5\naction = \"advance\"\nms = 1\n"),
        8,
        &["at_ms"],
    );
}

#[test]
fn missing_required_keys_are_named() {
    assert_refused(
        "seed = 1\n[[connections]]\nbroker = \"alpaca\"\n",
        1,
        &["description"],
    );
    let no_side = format!("{HEAD}\n[[steps]]\nat_ms = 0\naction = \"submit\"\nid = \"a\"\nsymbol = \"AAPL\"\nquantity = \"1\"\n");
    assert_refused(&no_side, 7, &["steps[0]", "side"]);
}

#[test]
fn unknown_words_are_refused() {
    assert_refused(
        &format!("{HEAD}\n[[steps]]\nat_ms = 0\naction = \"teleport\"\n"),
        9,
        &["teleport"],
    );
    assert_refused(
        "description = \"d\"\nseed = 1\n[[connections]]\nbroker = \"etrade\"\n",
        0,
        &["etrade"],
    );
    assert_refused(
        &format!("{HEAD}{SUBMIT}\n[[expect]]\norder = \"a\"\nstatus = \"done\"\n"),
        15,
        &["done"],
    );
    assert_refused(
        &format!("{HEAD}{SUBMIT}\n[[expect]]\nerror = \"a\"\nkind = \"oops\"\n"),
        15,
        &["oops"],
    );
}

#[test]
fn steps_that_cannot_be_carried_out_are_refused() {
    let cancel_unknown =
        format!("{HEAD}\n[[steps]]\nat_ms = 0\naction = \"cancel\"\nid = \"ghost\"\n");
    assert_refused(&cancel_unknown, 7, &["ghost"]);
    let twice = format!("{HEAD}{SUBMIT}{}", SUBMIT.replace("at_ms = 0", "at_ms = 5"));
    assert_refused(&twice, 15, &["steps[1]", "\"a\""]);
    let wrong_key =
        format!("{HEAD}\n[[steps]]\nat_ms = 0\naction = \"advance\"\nms = 5\nsymbol = \"AAPL\"\n");
    assert_refused(&wrong_key, 7, &["symbol", "does not apply"]);
    let bad_qty = SUBMIT.replace("quantity = \"1\"", "quantity = \"ten\"");
    assert_refused(&format!("{HEAD}{bad_qty}"), 7, &["ten", "decimal"]);
    let negative = SUBMIT.replace("quantity = \"1\"", "quantity = \"-1\"");
    assert_refused(&format!("{HEAD}{negative}"), 7, &["-1", "positive"]);
    let no_limit = SUBMIT.replace("quantity = \"1\"", "quantity = \"1\"\ntype = \"limit\"");
    assert_refused(&format!("{HEAD}{no_limit}"), 7, &["limit_price"]);
}

#[test]
fn connections_are_checked() {
    let two = format!("{HEAD}\n[[connections]]\nbroker = \"tradier\"\n{SUBMIT}");
    assert_refused(&two, 10, &["connection"]);
    let dup = format!("{HEAD}\n[[connections]]\nbroker = \"alpaca\"\n");
    assert_refused(&dup, 0, &["alpaca", "twice"]);
    assert_refused(
        "description = \"d\"\nseed = 1\n[[connections]]\nbroker = \"mbt\"\nfaults = \"submit-outage.toml\"\n",
        0,
        &["mbt", "faults"],
    );
    assert_refused("description = \"d\"\nseed = 1\n", 1, &["connections"]);
}

#[test]
fn fault_plans_are_checked() {
    let missing = format!("{HEAD}faults = \"no-such-plan.toml\"\n");
    assert_refused(&missing, 0, &["no-such-plan.toml"]);
    let escape = format!("{HEAD}faults = \"../../etc/passwd\"\n");
    assert_refused(&escape, 0, &["scenarios/faults"]);
    let inline_bad = format!("{HEAD}\n[[connections.faults.rules]]\nfault = {{ kind = \"latency\", min_ms = 9, max_ms = 1 }}\n");
    assert_refused(&inline_bad, 0, &["min_ms"]);
    let good = format!("{HEAD}faults = \"submit-outage.toml\"\n");
    assert!(parse(&good, "ok.toml", &faults_dir()).is_ok());
}

#[test]
fn expectations_are_checked() {
    let two_kinds = format!("{HEAD}{SUBMIT}\n[[expect]]\norder = \"a\"\ncash = \"alpaca\"\n");
    assert_refused(&two_kinds, 15, &["exactly one"]);
    let unknown_order = format!("{HEAD}{SUBMIT}\n[[expect]]\norder = \"zzz\"\n");
    assert_refused(&unknown_order, 15, &["zzz"]);
    let no_kind = format!("{HEAD}{SUBMIT}\n[[expect]]\nerror = \"a\"\n");
    assert_refused(&no_kind, 15, &["kind"]);
}

#[test]
fn holdings_reads_and_their_expectations_are_checked() {
    const READ: &str = "\n[[steps]]\nat_ms = 5\naction = \"holdings\"\nid = \"r\"\n";
    let good = format!(
        "{HEAD}{SUBMIT}{READ}\n[[expect]]\nholdings = \"r\"\nsymbol = \"AAPL\"\nquantity = \"1\"\nas_of_before_ms = 9\n"
    );
    parse(&good, "good.toml", &faults_dir()).expect("loads");
    // A read's id is its own: not an earlier submit's, not an order to check.
    let reused =
        format!("{HEAD}{SUBMIT}\n[[steps]]\nat_ms = 5\naction = \"holdings\"\nid = \"a\"\n");
    assert_refused(&reused, 15, &["\"a\"", "earlier step"]);
    let as_order = format!("{HEAD}{SUBMIT}{READ}\n[[expect]]\norder = \"r\"\n");
    assert_refused(&as_order, 20, &["no submit step", "\"r\""]);
    let unknown = format!("{HEAD}{SUBMIT}{READ}\n[[expect]]\nholdings = \"a\"\n");
    assert_refused(&unknown, 20, &["no holdings step", "\"a\""]);
    let half = format!("{HEAD}{SUBMIT}{READ}\n[[expect]]\nholdings = \"r\"\nsymbol = \"AAPL\"\n");
    assert_refused(&half, 20, &["symbol", "quantity"]);
    let stray = format!("{HEAD}{SUBMIT}\n[[expect]]\norder = \"a\"\nas_of_after_ms = 3\n");
    assert_refused(&stray, 15, &["as_of_after_ms", "holdings"]);
    let keyless = format!("{HEAD}\n[[steps]]\nat_ms = 5\naction = \"holdings\"\n");
    assert_refused(&keyless, 7, &["id"]);
}

#[test]
fn markets_are_checked() {
    let missing = format!("{HEAD}\n[market]\nbars = \"no-such.csv\"\n");
    assert_refused(&missing, 0, &["market", "no-such.csv"]);
    let both = format!("{HEAD}\n[market]\nbars = \"aapl-1min.csv\"\nvolatility = \"0.2\"\n");
    assert_refused(&both, 0, &["bars", "volatility"]);
    let negative = format!("{HEAD}\n[market]\nvolatility = \"-1\"\n");
    assert_refused(&negative, 0, &["volatility"]);
    let escape = format!("{HEAD}\n[market]\nbars = \"../faults/submit-outage.toml\"\n");
    assert_refused(&escape, 0, &["scenarios/data"]);
    let good = format!("{HEAD}\n[market]\nbars = \"aapl-1min.csv\"\n");
    let loaded = parse(&good, "ok.toml", &faults_dir()).expect("recorded bars load");
    assert!(loaded.market.bars_csv.is_some());
}

#[test]
fn bad_bars_name_their_file_and_line() {
    let dir = std::env::temp_dir().join(format!("raxx-sim-bars-{}", std::process::id()));
    let (faults, data) = (dir.join("faults"), dir.join("data"));
    std::fs::create_dir_all(&faults).expect("temp faults dir");
    std::fs::create_dir_all(&data).expect("temp data dir");
    std::fs::write(
        data.join("bad.csv"),
        "time,symbol,open,high,low,close,volume\n2025-06-02T13:30:00Z,AAPL,1,1,2,1,5\n",
    )
    .expect("write bars");
    let text = format!("{HEAD}\n[market]\nbars = \"bad.csv\"\n");
    let e = parse(&text, "bad.toml", &faults).expect_err("a bar whose high is below its low");
    let shown = e.to_string();
    assert!(
        shown.contains("bad.csv") && shown.contains("line 2") && shown.contains("high"),
        "{shown}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_file_for_several_brokers_fills_in_each_and_refuses_what_cannot_run() {
    let every = |brokers: &str, connection: &str| {
        format!("description = \"d\"\nseed = 1\nbrokers = {brokers}\n\n[[connections]]\nbroker = \"{connection}\"\n{SUBMIT}")
    };
    let each = parse_each(
        &every(r#"["alpaca", "tradier"]"#, "{broker}"),
        "m.toml",
        &faults_dir(),
    )
    .expect("loads at both");
    let at: Vec<_> = each
        .iter()
        .map(|l| (l.broker.clone(), l.scenario.connections[0].broker.clone()))
        .collect();
    assert_eq!(
        at,
        [
            (Some("alpaca".into()), "alpaca".into()),
            (Some("tradier".into()), "tradier".into())
        ]
    );

    let refused_each = |text: &str, words: &[&str]| {
        let e = parse_each(text, "m.toml", &faults_dir()).expect_err(text);
        for w in words {
            assert!(e.to_string().contains(w), "{e} does not name {w:?}");
        }
    };
    // A slot with nothing to fill it, a list with no slot, a broker twice.
    refused_each(
        &HEAD.replace("\"alpaca\"", "\"{broker}\""),
        &["names no `brokers`"],
    );
    refused_each(&every(r#"["alpaca"]"#, "alpaca"), &["never says {broker}"]);
    refused_each(
        &every(r#"["alpaca", "alpaca"]"#, "{broker}"),
        &["\"alpaca\" twice"],
    );
    // A slug the table does not know: refused at that broker, with the line.
    let e = parse_each(
        &every(r#"["alpaca", "nyse"]"#, "{broker}"),
        "m.toml",
        &faults_dir(),
    )
    .expect_err("unknown broker");
    assert!(
        e.message.contains("at broker \"nyse\"") && e.message.contains("unknown broker"),
        "{e}"
    );
}
