//! Mutants: deliberately broken adapters, each a wrapper that injects one
//! known bug into a good adapter. The suite must catch every one of them;
//! the mutation score says how many it caught.

use std::sync::Arc;

use adapters::BrokerAdapter;

pub struct Mutant {
    pub id: &'static str,
    pub about: &'static str,
    pub wrap: fn(Arc<dyn BrokerAdapter>) -> Arc<dyn BrokerAdapter>,
}

pub static MUTANTS: &[Mutant] = &[];
