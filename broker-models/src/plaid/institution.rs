//! What the Sandbox knows that is not account data: its institutions and
//! the login its Link accepts (reference §5), how the institution names its
//! accounts, and the names and types of the securities the holder trades.

use mbt::Instrument;

/// How an institution behaves once an Item is linked at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Healthy,
    /// "Unhealthy Platypus Bank – Down": data requests answer INSTITUTION_DOWN.
    Down,
    /// "Unsupported Platypus Bank": it offers no investments data.
    Unsupported,
}

#[derive(Debug)]
pub struct Institution {
    pub id: &'static str,
    pub name: &'static str,
    pub health: Health,
}

/// The Sandbox-only institutions (§5); the first is the default.
pub const INSTITUTIONS: &[Institution] = &[
    Institution {
        id: "ins_109508",
        name: "First Platypus Bank",
        health: Health::Healthy,
    },
    Institution {
        id: "ins_130016",
        name: "First Platypus Balance Bank",
        health: Health::Healthy,
    },
    Institution {
        id: "ins_109509",
        name: "First Gingham Credit Union",
        health: Health::Healthy,
    },
    Institution {
        id: "ins_109510",
        name: "Tattersall Federal Credit Union",
        health: Health::Healthy,
    },
    Institution {
        id: "ins_109511",
        name: "Tartan Bank",
        health: Health::Healthy,
    },
    Institution {
        id: "ins_109512",
        name: "Houndstooth Bank",
        health: Health::Healthy,
    },
    Institution {
        id: "ins_43",
        name: "Tartan-Dominion Bank of Canada",
        health: Health::Healthy,
    },
    Institution {
        id: "ins_127287",
        name: "Platypus OAuth Bank",
        health: Health::Healthy,
    },
    Institution {
        id: "ins_132241",
        name: "First Platypus OAuth App2App Bank",
        health: Health::Healthy,
    },
    Institution {
        id: "ins_135858",
        name: "Windowpane Bank",
        health: Health::Healthy,
    },
    Institution {
        id: "ins_132363",
        name: "Unhealthy Platypus Bank - Degraded",
        health: Health::Healthy,
    },
    Institution {
        id: "ins_132361",
        name: "Unhealthy Platypus Bank - Down",
        health: Health::Down,
    },
    Institution {
        id: "ins_133402",
        name: "Unsupported Platypus Bank",
        health: Health::Unsupported,
    },
];

pub fn institution(id: &str) -> Option<&'static Institution> {
    INSTITUTIONS.iter().find(|i| i.id == id)
}

/// The institution every Item of `serve` is linked at.
pub fn default_institution() -> &'static Institution {
    &INSTITUTIONS[0]
}

/// The login Link accepts in the Sandbox (the defaults of
/// `/sandbox/public_token/create`'s overrides).
pub const USERNAME: &str = "user_good";
pub const PASSWORD: &str = "pass_good";

/// How the institution shows an account: name, mask and subtype.
#[derive(Debug, Clone, Copy)]
pub struct AccountLook {
    pub name: &'static str,
    pub mask: Option<&'static str>,
    pub subtype: &'static str,
}

/// The `user_good` accounts, in the profile's order (§5); any further
/// account is a plain brokerage account.
pub fn account_look(index: usize) -> AccountLook {
    const LOOKS: [AccountLook; 2] = [
        AccountLook {
            name: "Plaid IRA",
            mask: Some("5555"),
            subtype: "ira",
        },
        AccountLook {
            name: "Plaid 401k",
            mask: Some("6666"),
            subtype: "401k",
        },
    ];
    LOOKS.get(index).copied().unwrap_or(AccountLook {
        name: "Plaid Brokerage",
        mask: None,
        subtype: "brokerage",
    })
}

/// How Plaid describes a security: its name, `type` and `subtype`, and the
/// market it trades on (ISO 10383).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Description {
    pub name: &'static str,
    pub kind: &'static str,
    pub subtype: &'static str,
    pub mic: Option<&'static str>,
}

const fn stock(name: &'static str, mic: &'static str) -> Description {
    Description {
        name,
        kind: "equity",
        subtype: "common stock",
        mic: Some(mic),
    }
}

const fn etf(name: &'static str, mic: &'static str) -> Description {
    Description {
        name,
        kind: "etf",
        subtype: "etf",
        mic: Some(mic),
    }
}

/// The simulated market's tickers as Plaid would describe them.
pub fn describe_equity(symbol: &str) -> Description {
    match symbol {
        "AAPL" => stock("Apple Inc.", "XNAS"),
        "MSFT" => stock("Microsoft Corporation", "XNAS"),
        "NVDA" => stock("NVIDIA Corporation", "XNAS"),
        "TSLA" => stock("Tesla, Inc.", "XNAS"),
        "AMZN" => stock("Amazon.com, Inc.", "XNAS"),
        "GOOGL" => stock("Alphabet Inc. Class A", "XNAS"),
        "META" => stock("Meta Platforms, Inc.", "XNAS"),
        "AMD" => stock("Advanced Micro Devices, Inc.", "XNAS"),
        "NFLX" => stock("Netflix, Inc.", "XNAS"),
        "JPM" => stock("JPMorgan Chase & Co.", "XNYS"),
        "BAC" => stock("Bank of America Corporation", "XNYS"),
        "F" => stock("Ford Motor Company", "XNYS"),
        "SPY" => etf("SPDR S&P 500 ETF Trust", "ARCX"),
        "IWM" => etf("iShares Russell 2000 ETF", "ARCX"),
        "QQQ" => etf("Invesco QQQ Trust, Series 1", "XNAS"),
        _ => Description {
            name: "Unlisted security",
            kind: "equity",
            subtype: "common stock",
            mic: None,
        },
    }
}

/// The ticker Plaid shows: the symbol, or the OCC symbol without padding
/// (reference §3.3: `NFLX180201C00355000`).
pub fn ticker(instrument: &Instrument) -> String {
    match instrument {
        Instrument::Equity { symbol } => symbol.clone(),
        Instrument::Option { occ } => occ.compact(),
    }
}
