//! Orders a broker ties together (Alpaca's order classes, tastytrade's
//! complex orders): a bracket is an entry whose take-profit and stop-loss
//! are held until it fills and then cancel each other; OTO is an entry and
//! one held exit; OCO is two live exits that cancel each other. The engine
//! knows single orders only; the brokerage keeps the group and acts when
//! its orders change.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderClass {
    Bracket,
    Oto,
    Oco,
}

/// Where a group is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The exits are held until the entry is done.
    WaitingForEntry,
    /// The exits are live; the first to fill cancels the others.
    ExitsLive,
    Done,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub class: OrderClass,
    /// The vendor id of the entry (for OCO: of the first exit).
    pub parent: String,
    /// Vendor ids of the exits (for OCO: of the other exits).
    pub exits: Vec<String>,
    pub stage: Stage,
}

impl Group {
    /// Every member's vendor id, the parent first.
    pub fn members(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.parent).chain(&self.exits)
    }

    /// The members that are alternatives to one another (the first to fill
    /// cancels the rest): every member of an OCO, a bracket's exits.
    pub fn alternatives(&self) -> Vec<&String> {
        match self.class {
            OrderClass::Oco => self.members().collect(),
            OrderClass::Bracket | OrderClass::Oto => self.exits.iter().collect(),
        }
    }
}
