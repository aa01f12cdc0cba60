//! What the fuzz targets (`fuzz/fuzz_targets/`) drive, and `cargo test`
//! replays over the committed corpus (`fuzz/corpus/`): whatever a hostile or
//! broken broker answers, or an adapter process prints on the bridge, must
//! come back to the caller as a contract error, never as a panic.
//!
//! Each entry point runs the adapters' own code on the input, the code they
//! run on a real answer: the vendor's error classification, then every body
//! decoder and parser its adapter applies to an answer of that vendor.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::bridge::rpc::{notice_error, parse_reply, Reply};
use crate::http::{EpochClock, HttpResponse};

/// Statuses a broker answers with, one picked by an input's second byte.
const STATUSES: [u16; 12] = [200, 201, 204, 400, 401, 403, 404, 409, 422, 429, 500, 503];

/// The vendors `response` knows, in the order an input's first byte picks them.
pub const VENDORS: [&str; 6] = [
    "alpaca",
    "tradier",
    "tastytrade",
    "schwab",
    "snaptrade",
    "plaid",
];

/// One broker answer: the first byte picks the vendor (`VENDORS`), the
/// second the status (`STATUSES`), the rest is the body. A `Retry-After`
/// and a rate-limit reset header ride along, as the vendors send them.
pub fn response(data: &[u8]) {
    let [vendor, status, body @ ..] = data else {
        return;
    };
    let status = STATUSES[usize::from(*status) % STATUSES.len()];
    let mut headers = HeaderMap::new();
    let text = String::from_utf8_lossy(body.get(..16).unwrap_or(body)).into_owned();
    if let Ok(v) = HeaderValue::from_str(&text) {
        headers.insert("retry-after", v.clone());
        headers.insert("x-ratelimit-reset", v);
    }
    let r = HttpResponse {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        headers,
        body: Bytes::copy_from_slice(body),
    };
    match usize::from(*vendor) % VENDORS.len() {
        0 => alpaca(&r),
        1 => tradier(&r),
        2 => tastytrade(&r),
        3 => schwab(&r),
        4 => snaptrade(&r),
        _ => plaid(&r),
    }
}

/// Lines an adapter process prints on the bridge: each judged as the
/// bridge judges it, and a notification's error read as the bridge reads it.
pub fn bridge_lines(data: &[u8]) {
    for line in String::from_utf8_lossy(data).lines() {
        if let Reply::Notice(_, params) = parse_reply(line, 1) {
            let _ = notice_error(&params);
        }
    }
}

/// What an adapter process writes to its stdout, read back by the bridge's
/// [`LineReader`] as the pipe delivers it: in pieces of any size, with reads
/// that are not ready yet, and each pending `next_line` dropped as a timeout
/// around it would drop it. The lines must come out exactly as the bytes were
/// written: split at `\n`, a `\r` before it removed, each cut at the cap.
///
/// The first byte sets the cap (1 to 64 bytes, so short inputs reach the
/// cut), the second the size of the pieces (1 to 16 bytes), the third how
/// often a read is not ready (never, or every 2nd to 4th read); the rest is
/// the stream. Each line read is then judged as [`bridge_lines`] judges it.
pub fn bridge_reader(data: &[u8]) {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};

    use crate::bridge::process::LineReader;

    let [cap, piece, pending, stream @ ..] = data else {
        return;
    };
    let cap = 1 + usize::from(*cap % 64);
    let mut reader = LineReader::with_max_line(
        Pieces {
            data: stream,
            piece: 1 + usize::from(*piece % 16),
            pending_every: [0, 2, 3, 4][usize::from(*pending % 4)],
            reads: 0,
        },
        cap,
    );
    let mut cx = Context::from_waker(Waker::noop());
    let mut lines = Vec::new();
    // Each poll either consumes a byte, returns a line, or is a pending read
    // followed by a ready one: this many polls read any stream to its end.
    let mut polls = 4 * stream.len() + 8;
    loop {
        polls = polls
            .checked_sub(1)
            .expect("the reader stopped making progress");
        let next = std::pin::pin!(reader.next_line()).poll(&mut cx);
        match next {
            Poll::Ready(Ok(Some(line))) => lines.push(line),
            Poll::Ready(Ok(None)) => break,
            Poll::Ready(Err(e)) => panic!("reading from memory failed: {e}"),
            Poll::Pending => {}
        }
    }
    assert_eq!(
        lines,
        lines_as_written(stream, cap),
        "lines read back differ"
    );
    for line in &lines {
        bridge_lines(line.as_bytes());
    }
}

/// The lines `stream` holds, as the bridge must read them.
fn lines_as_written(stream: &[u8], cap: usize) -> Vec<String> {
    let mut parts: Vec<&[u8]> = stream.split(|b| *b == b'\n').collect();
    // The part after a final `\n` (or of an empty stream) is no line.
    if parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts
        .into_iter()
        .map(|p| {
            let mut line = String::from_utf8_lossy(p.get(..cap).unwrap_or(p)).into_owned();
            if line.ends_with('\r') {
                line.pop();
            }
            line
        })
        .collect()
}

/// A pipe that delivers `data` `piece` bytes at a time, every
/// `pending_every`-th read not ready yet (0: always ready; never 1, or no
/// read would ever be ready).
struct Pieces<'a> {
    data: &'a [u8],
    piece: usize,
    pending_every: usize,
    reads: usize,
}

impl tokio::io::AsyncRead for Pieces<'_> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.reads += 1;
        if self.pending_every > 1 && self.reads.is_multiple_of(self.pending_every) {
            return std::task::Poll::Pending;
        }
        let n = self.piece.min(self.data.len()).min(buf.remaining());
        let (now, later) = self.data.split_at(n);
        buf.put_slice(now);
        self.data = later;
        std::task::Poll::Ready(Ok(()))
    }
}

/// An account id the parsers compare what they read with.
const ACCOUNT: &str = "ACCT-1";

fn alpaca(r: &HttpResponse) {
    use crate::alpaca::errors::{from_response, Context};
    use crate::alpaca::models::{AlpacaAccount, AlpacaOrder, AlpacaPosition, StreamMessage};
    use crate::alpaca::parse;
    for context in [
        Context::Submit,
        Context::Cancel,
        Context::Replace,
        Context::Other,
    ] {
        let _ = from_response(r, context, &EpochClock::new(0));
    }
    if let Ok(o) = r.json::<AlpacaOrder>() {
        let _ = parse::order_result(&o);
    }
    if let Ok(list) = r.json::<Vec<AlpacaPosition>>() {
        for p in &list {
            let _ = parse::position(ACCOUNT, p);
        }
    }
    if let Ok(a) = r.json::<AlpacaAccount>() {
        let _ = parse::account(&a);
    }
    if let Ok(m) = r.json::<StreamMessage>() {
        if let Ok(u) = serde_json::from_value::<crate::alpaca::models::TradeUpdate>(m.data) {
            let _ = parse::order_result(&u.order);
        }
    }
}

fn tradier(r: &HttpResponse) {
    use crate::tradier::models::{
        AckBody, BalancesBody, OrderBody, OrdersBody, PositionsBody, StreamEvent,
    };
    use crate::tradier::{errors, parse};
    let _ = errors::classify(r, &EpochClock::new(0));
    if let Ok(b) = r.json::<OrderBody>() {
        let _ = parse::order(&b.order, String::new());
    }
    if let Ok(Ok(list)) = r.json::<OrdersBody>().map(|b| b.items()) {
        for o in &list {
            let _ = parse::order(o, String::new());
        }
    }
    if let Ok(Ok(list)) = r.json::<PositionsBody>().map(|b| b.items()) {
        for p in &list {
            let _ = parse::position(p, ACCOUNT);
        }
    }
    if let Ok(b) = r.json::<BalancesBody>() {
        let _ = parse::account(&b.balances, ACCOUNT);
    }
    let _ = r.json::<AckBody>();
    if let Ok(e) = r.json::<StreamEvent>() {
        let _ = parse::event(&e, String::new());
    }
}

fn tastytrade(r: &HttpResponse) {
    use crate::tastytrade::models::{Balance, Envelope, Items, Order, Placed, Position};
    use crate::tastytrade::{errors, parse};
    let _ = errors::classify(r);
    if let Ok(e) = r.json::<Envelope<Order>>() {
        let _ = parse::order(&e.data);
    }
    if let Ok(e) = r.json::<Envelope<Items<Order>>>() {
        for o in &e.data.items {
            let _ = parse::order(o);
        }
    }
    if let Ok(e) = r.json::<Envelope<Placed>>() {
        let _ = parse::order(&e.data.order);
    }
    if let Ok(e) = r.json::<Envelope<Items<Position>>>() {
        for p in &e.data.items {
            let _ = parse::position(p, ACCOUNT);
        }
    }
    if let Ok(e) = r.json::<Envelope<Balance>>() {
        let _ = parse::account(&e.data);
    }
}

fn schwab(r: &HttpResponse) {
    use crate::schwab::models::{AccountDoc, Order};
    use crate::schwab::{errors, parse};
    let _ = errors::classify(r);
    if let Ok(o) = r.json::<Order>() {
        let _ = parse::order(&o, String::new());
    }
    if let Ok(list) = r.json::<Vec<Order>>() {
        for o in &list {
            let _ = parse::order(o, String::new());
        }
    }
    if let Ok(doc) = r.json::<AccountDoc>() {
        let _ = parse::positions(&doc, ACCOUNT);
        let _ = parse::account(&doc, ACCOUNT);
    }
}

fn snaptrade(r: &HttpResponse) {
    use crate::snaptrade::errors::{classify, Call};
    use crate::snaptrade::models::{
        Account, Activity, Balance, OrderRecord, Positions, RecentOrders,
    };
    use crate::snaptrade::parse;
    for call in [Call::Read, Call::Submit, Call::Cancel] {
        let _ = classify(r, call, Some("E*TRADE"));
    }
    if let Ok(o) = r.json::<OrderRecord>() {
        let _ = parse::order(&o, String::new());
        let _ = parse::placed_ms(&o);
    }
    if let Ok(recent) = r.json::<RecentOrders>() {
        for o in &recent.orders {
            let _ = parse::order(o, String::new());
        }
    }
    if let Ok(doc) = r.json::<Positions>() {
        let _ = parse::positions(&doc, ACCOUNT);
        let _ = parse::holdings(&doc, ACCOUNT);
    }
    if let Ok(balances) = r.json::<Vec<Balance>>() {
        let doc = r.json::<Account>().unwrap_or(Account {
            id: ACCOUNT.to_string(),
            brokerage_authorization: None,
            institution_name: None,
            balance: None,
        });
        let _ = parse::account(&doc, &balances, ACCOUNT);
    }
    if let Ok(list) = r.json::<Vec<Activity>>() {
        for a in &list {
            let _ = parse::transaction(a, ACCOUNT);
        }
    }
}

fn plaid(r: &HttpResponse) {
    use crate::plaid::models::{AccountsResponse, HoldingsResponse, TransactionsResponse};
    use crate::plaid::{errors, parse};
    let _ = errors::classify(r);
    if let Ok(h) = r.json::<HoldingsResponse>() {
        let _ = parse::holdings(&h, ACCOUNT);
    }
    if let Ok(a) = r.json::<AccountsResponse>() {
        let _ = parse::account(&a.accounts, ACCOUNT);
    }
    if let Ok(t) = r.json::<TransactionsResponse>() {
        for tx in &t.investment_transactions {
            let _ = parse::transaction(tx, &t.securities);
        }
    }
}
