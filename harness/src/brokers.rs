//! The broker table: every modelled broker, one row each, with how the
//! harness builds its production adapter from a served model's
//! connection. Every list of brokers (the CLI's, the tests', the sweep's)
//! comes from here or from [`broker_models::vendor::VENDORS`], which a test
//! keeps in step with this table.

use std::fmt;
use std::sync::Arc;

use adapters::alpaca::{AlpacaAdapter, AlpacaConfig};
use adapters::http::HttpSetup;
use adapters::plaid::{PlaidConfig, PlaidSource};
use adapters::schwab::{SchwabAdapter, SchwabConfig};
use adapters::snaptrade::{SnapTradeAdapter, SnapTradeConfig, SnapTradeSource};
use adapters::tastytrade::{TastytradeAdapter, TastytradeConfig};
use adapters::tradier::{TradierAdapter, TradierConfig, TradierOAuth};
use adapters::{BrokerAdapter, ReadOnlySource};
use broker_models::{Connection, Vendor};

/// One modelled broker as the harness runs it: a vendor's model and its
/// production adapter, or, behind an aggregator, one brokerage the user
/// connected through it (one row each: they trade or only read).
pub struct Broker {
    /// The row's name: the vendor's slug, or `<aggregator>-<brokerage>`.
    pub slug: &'static str,
    pub vendor: &'static Vendor,
    /// Behind an aggregator: the brokerage (its `[[downstream]]` slug)
    /// whose connection the adapter uses.
    pub via: Option<&'static str>,
    /// The broker's production adapter for a connection (its credentials in
    /// the vendor's shapes, as `raxx-sim serve` prints them).
    pub adapter: Factory,
}

/// How the harness builds a broker's adapter: one that trades, or a
/// read-only source (Tier C), which has no way to place an order.
#[derive(Clone, Copy)]
pub enum Factory {
    Trading(fn(&Connection, HttpSetup) -> Arc<dyn BrokerAdapter>),
    ReadOnly(fn(&Connection, HttpSetup) -> Arc<dyn ReadOnlySource>),
}

impl Factory {
    pub fn build(self, c: &Connection, setup: HttpSetup) -> Built {
        match self {
            Factory::Trading(f) => Built::Trading(f(c, setup)),
            Factory::ReadOnly(f) => Built::ReadOnly(f(c, setup)),
        }
    }
}

/// An adapter as built: one that trades, or a read-only source.
#[derive(Clone)]
pub enum Built {
    Trading(Arc<dyn BrokerAdapter>),
    ReadOnly(Arc<dyn ReadOnlySource>),
}

impl Built {
    pub fn describe(&self) -> adapters::Description {
        match self {
            Built::Trading(a) => a.describe(),
            Built::ReadOnly(s) => s.describe(),
        }
    }
}

impl Broker {
    pub fn slug(&self) -> &'static str {
        self.slug
    }

    /// The connection this row's adapter uses: the model's own, or behind
    /// an aggregator only the accounts of the row's brokerage.
    pub fn connection(&self, c: &Connection) -> Connection {
        let mut c = c.clone();
        if let Some(via) = self.via {
            let held = self
                .vendor
                .profile()
                .ok()
                .and_then(|p| p.downstream.into_iter().find(|d| d.slug == via))
                .map(|d| d.accounts)
                .unwrap_or_default();
            c.accounts.retain(|a| held.contains(a));
        }
        c
    }

    /// Builds the row's adapter on the model's connection.
    pub fn build(&self, c: &Connection, setup: HttpSetup) -> Built {
        self.adapter.build(&self.connection(c), setup)
    }
}

impl fmt::Debug for Broker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slug())
    }
}

pub static BROKERS: &[Broker] = &[
    Broker {
        slug: "alpaca",
        vendor: &broker_models::alpaca::VENDOR,
        via: None,
        adapter: Factory::Trading(alpaca),
    },
    Broker {
        slug: "tradier",
        vendor: &broker_models::tradier::VENDOR,
        via: None,
        adapter: Factory::Trading(tradier),
    },
    Broker {
        slug: "tastytrade",
        vendor: &broker_models::tastytrade::VENDOR,
        via: None,
        adapter: Factory::Trading(tastytrade),
    },
    Broker {
        slug: "schwab",
        vendor: &broker_models::schwab::VENDOR,
        via: None,
        adapter: Factory::Trading(schwab),
    },
    // SnapTrade: one row per brokerage behind it (its profile's
    // `[[downstream]]`; a test keeps the two in step).
    Broker {
        slug: "snaptrade-etrade",
        vendor: &broker_models::snaptrade::VENDOR,
        via: Some("ETRADE"),
        adapter: Factory::Trading(snaptrade),
    },
    Broker {
        slug: "snaptrade-fidelity",
        vendor: &broker_models::snaptrade::VENDOR,
        via: Some("FIDELITY"),
        adapter: Factory::ReadOnly(snaptrade_read_only),
    },
    Broker {
        slug: "snaptrade-ibkr",
        vendor: &broker_models::snaptrade::VENDOR,
        via: Some("INTERACTIVE-BROKERS-FLEX"),
        adapter: Factory::ReadOnly(snaptrade_read_only),
    },
    Broker {
        slug: "snaptrade-robinhood",
        vendor: &broker_models::snaptrade::VENDOR,
        via: Some("ROBINHOOD"),
        adapter: Factory::ReadOnly(snaptrade_read_only),
    },
    Broker {
        slug: "plaid",
        vendor: &broker_models::plaid::VENDOR,
        via: None,
        adapter: Factory::ReadOnly(plaid),
    },
];

/// Every row of a vendor's (`snaptrade`: one per brokerage behind it), or
/// the one row named `slug`.
pub fn family(slug: &str) -> Vec<&'static Broker> {
    BROKERS
        .iter()
        .filter(|b| b.slug == slug || b.vendor.slug == slug)
        .collect()
}

pub fn find(slug: &str) -> Option<&'static Broker> {
    BROKERS.iter().find(|b| b.slug == slug)
}

fn alpaca(c: &Connection, setup: HttpSetup) -> Arc<dyn BrokerAdapter> {
    let config = AlpacaConfig {
        base_url: c.base_url.clone(),
        key_id: c.credential("key_id"),
        secret_key: c.credential("secret_key"),
        account_id: c.account(),
    };
    Arc::new(AlpacaAdapter::new(config, setup))
}

fn tradier(c: &Connection, setup: HttpSetup) -> Arc<dyn BrokerAdapter> {
    let config = TradierConfig {
        base_url: c.base_url.clone(),
        access_token: c.credential("access_token"),
        account_id: c.account(),
        oauth: Some(TradierOAuth {
            refresh_token: c.credential("refresh_token"),
            client_id: c.credential("client_id"),
            client_secret: c.credential("client_secret"),
        }),
    };
    Arc::new(TradierAdapter::new(config, setup))
}

/// The model serves tastytrade's account streamer at the root of its own
/// host (in production it is a host of its own), so the streamer URL is the
/// base URL with the websocket scheme.
fn tastytrade(c: &Connection, setup: HttpSetup) -> Arc<dyn BrokerAdapter> {
    let streamer_url = match c.base_url.strip_prefix("https://") {
        Some(rest) => format!("wss://{rest}"),
        None => c.base_url.replacen("http://", "ws://", 1),
    };
    let config = TastytradeConfig {
        base_url: c.base_url.clone(),
        streamer_url,
        account_id: c.account(),
        refresh_token: c.credential("refresh_token"),
        client_secret: c.credential("client_secret"),
        client_id: Some(c.credential("client_id")),
        access_token: Some(c.credential("access_token")),
    };
    Arc::new(TastytradeAdapter::new(config, setup))
}

fn schwab(c: &Connection, setup: HttpSetup) -> Arc<dyn BrokerAdapter> {
    let config = SchwabConfig {
        base_url: c.base_url.clone(),
        app_key: c.credential("app_key"),
        app_secret: c.credential("app_secret"),
        access_token: c.credential("access_token"),
        refresh_token: c.credential("refresh_token"),
        account_id: c.account(),
    };
    Arc::new(SchwabAdapter::new(config, setup))
}

/// The partner's keys and the user's, and the SnapTrade account of the
/// row's brokerage. Tier B never holds a broker credential.
fn snaptrade_config(c: &Connection) -> SnapTradeConfig {
    SnapTradeConfig {
        base_url: c.base_url.clone(),
        client_id: c.credential("client_id"),
        consumer_key: c.credential("consumer_key"),
        user_id: c.credential("user_id"),
        user_secret: c.credential("user_secret"),
        account_id: c.account(),
    }
}

fn snaptrade(c: &Connection, setup: HttpSetup) -> Arc<dyn BrokerAdapter> {
    Arc::new(SnapTradeAdapter::new(snaptrade_config(c), setup))
}

fn snaptrade_read_only(c: &Connection, setup: HttpSetup) -> Arc<dyn ReadOnlySource> {
    Arc::new(SnapTradeSource::new(
        snaptrade_config(c),
        setup,
        READ_PAGE_SIZE,
    ))
}

/// Transactions per page for every read-only source the suite builds:
/// small, so that every import of a history crosses pages (in production
/// Plaid's adapter reads its largest page, 500).
pub const READ_PAGE_SIZE: usize = 4;

/// The connection carries the Item `serve` linked (its access token, as
/// Raxx stores it after the public token's exchange), so no case spends
/// a public token; `adapters::plaid::exchange_public_token` is the link.
fn plaid(c: &Connection, setup: HttpSetup) -> Arc<dyn ReadOnlySource> {
    let config = PlaidConfig {
        base_url: c.base_url.clone(),
        client_id: c.credential("client_id"),
        secret: c.credential("secret"),
        access_token: c.credential("access_token"),
        account_id: c.account(),
        page_size: READ_PAGE_SIZE,
    };
    Arc::new(PlaidSource::new(config, setup))
}
