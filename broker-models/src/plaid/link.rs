//! Items: the Sandbox's shortcut for Link (`/sandbox/public_token/create`),
//! the exchange for an access token, `/item/get` (where an unhealthy Item
//! shows its error inside a 200), `/item/remove`, and the Sandbox's
//! `reset_login` and `fire_webhook` (reference §2.1-2.3, §2.7, §5).

use axum::extract::State;
use axum::{Extension, Json};

use super::call::{item, Call};
use super::errors::PlaidError;
use super::institution::{institution, PASSWORD, USERNAME};
use super::report::report;
use super::requests::{Exchange, FireWebhook, ItemOnly, PublicTokenCreate};
use super::state::{Item, Plaid, State as PlaidState};
use super::webhooks;
use super::wire::{
    self, datetime, Acknowledged, ExchangeResponse, FireWebhookResponse, ItemGetResponse,
    ItemStatus, LastWebhook, ProductStatus, PublicTokenCreateResponse, ResetLoginResponse,
};
use crate::face::Shared;

/// The products a Sandbox Item may be linked with (a subset of Plaid's list).
const PRODUCTS: [&str; 8] = [
    "assets",
    "auth",
    "balance",
    "identity",
    "investments",
    "liabilities",
    "statements",
    "transactions",
];

/// What every Item could add (Plaid lists the products not billed yet).
const AVAILABLE: [&str; 3] = ["balance", "identity", "transactions"];

/// The Item as Plaid shows it; `/item/get` adds `created_at`.
pub fn item_wire(item: &Item, with_created: bool) -> wire::Item {
    wire::Item {
        item_id: item.item_id.clone(),
        webhook: item.webhook.clone(),
        error: item
            .login_required
            .then(|| PlaidError::item_login_required().body(None, false)),
        available_products: AVAILABLE.into_iter().filter(|p| !item.has(p)).collect(),
        billed_products: item.products.clone(),
        products: item.products.clone(),
        consented_products: item.products.clone(),
        consent_expiration_time: None,
        update_type: "background",
        institution_id: item.institution.id,
        institution_name: item.institution.name,
        auth_method: None,
        created_at: with_created.then(|| datetime(item.created_at)),
    }
}

pub async fn create_public_token(
    State(s): State<Shared>,
    Extension(plaid): Extension<Plaid>,
    call: Call<PublicTokenCreate>,
) -> Result<Json<PublicTokenCreateResponse>, PlaidError> {
    let PublicTokenCreate {
        institution_id,
        initial_products,
        options,
    } = call.body;
    let institution = institution(&institution_id).ok_or_else(PlaidError::invalid_institution)?;
    if initial_products.is_empty() {
        return Err(PlaidError::invalid_field(
            "initial_products must not be empty",
        ));
    }
    if let Some(bad) = initial_products
        .iter()
        .find(|p| !PRODUCTS.contains(&p.as_str()))
    {
        return Err(PlaidError::invalid_product(bad));
    }
    let options = options.unwrap_or_default();
    let username = options.override_username.as_deref().unwrap_or(USERNAME);
    let password = options.override_password.as_deref().unwrap_or(PASSWORD);
    if (username, password) != (USERNAME, PASSWORD) {
        return Err(PlaidError::invalid_credentials());
    }
    let now = s.lock().now();
    let mut state = plaid.lock();
    state.expire_public_tokens(now);
    let token = state.mint_public_token();
    let pending = PlaidState::pending_link(institution, initial_products, options.webhook, now);
    state.public_tokens.insert(token.clone(), pending);
    Ok(Json(PublicTokenCreateResponse {
        public_token: token,
        request_id: call.request_id,
    }))
}

/// A public token is good once, for 30 minutes (§2.1-2.2).
pub async fn exchange(
    State(s): State<Shared>,
    Extension(plaid): Extension<Plaid>,
    call: Call<Exchange>,
) -> Result<Json<ExchangeResponse>, PlaidError> {
    let mut state = plaid.lock();
    let mut b = s.lock();
    // The institution's reports up to now are not news to the new Item.
    b.sync();
    let now = b.now();
    state.expire_public_tokens(now);
    let link = state
        .public_tokens
        .remove(&call.body.public_token)
        .ok_or_else(PlaidError::invalid_public_token)?;
    let (access_token, item_id) = state.mint_item();
    // A new Item names the institution's accounts with ids of its own (§5.1 of the notes).
    let accounts = b
        .account_numbers()
        .into_iter()
        .map(|n| (crate::ids::stable_alnum(&[&item_id, &n], 37), n))
        .collect();
    let announced = b.holder().map_or(0, |h| h.snapshots().len());
    state.items.insert(
        access_token.clone(),
        Item {
            item_id: item_id.clone(),
            institution: link.institution,
            products: link.products,
            webhook: link.webhook,
            created_at: now,
            login_required: false,
            removed: false,
            investments_ready_at: None,
            accounts,
            announced,
            last_webhook: None,
        },
    );
    Ok(Json(ExchangeResponse {
        access_token,
        item_id,
        request_id: call.request_id,
    }))
}

/// The Item and its freshness: `last_successful_update` is when Plaid last
/// read the institution (the latest posting, or the cache's fill time when
/// the answer is stale), `last_failed_update` when reading it last failed.
pub async fn item_get(
    State(s): State<Shared>,
    Extension(plaid): Extension<Plaid>,
    call: Call<ItemOnly>,
) -> Result<Json<ItemGetResponse>, PlaidError> {
    let mut state = plaid.lock();
    let mut b = s.lock();
    b.sync();
    let now = b.now();
    let item_id = item(&mut state, &call.body.access_token)?.item_id.clone();
    if !state.allow(&b, "/item/get", &item_id) {
        return Err(PlaidError::rate_limited("/item/get"));
    }
    webhooks::announce_updates(&mut state, &b);
    let it = item(&mut state, &call.body.access_token)?;
    let r = report(&b, call.stale_ms);
    let failing = it.login_required || call.stale_ms.is_some();
    let investments = ProductStatus {
        last_successful_update: r.map(|r| datetime(r.updated)),
        last_failed_update: failing.then(|| datetime(now)),
    };
    Ok(Json(ItemGetResponse {
        item: item_wire(it, true),
        status: ItemStatus {
            investments,
            transactions: None,
            last_webhook: it.last_webhook.as_ref().map(|(at, code)| LastWebhook {
                sent_at: datetime(*at),
                code_sent: code.clone(),
            }),
        },
        request_id: call.request_id,
    }))
}

pub async fn remove(
    State(s): State<Shared>,
    Extension(plaid): Extension<Plaid>,
    call: Call<ItemOnly>,
) -> Result<Json<Acknowledged>, PlaidError> {
    let mut state = plaid.lock();
    item(&mut state, &call.body.access_token)?.removed = true;
    // The served connection's own Item: its grant is gone.
    let mut brokerage = s.lock();
    if brokerage.credentials().get("access_token") == Some(call.body.access_token.as_str()) {
        brokerage.revoke_grant();
    }
    Ok(Json(Acknowledged {
        request_id: call.request_id,
    }))
}

/// The Item needs its login again: data requests answer ITEM_LOGIN_REQUIRED
/// and an `ITEM: ERROR` webhook is sent (§2.7).
pub async fn reset_login(
    State(s): State<Shared>,
    Extension(plaid): Extension<Plaid>,
    call: Call<ItemOnly>,
) -> Result<Json<ResetLoginResponse>, PlaidError> {
    let now = s.lock().now();
    let mut state = plaid.lock();
    item(&mut state, &call.body.access_token)?.login_required = true;
    webhooks::item_error(&mut state, &call.body.access_token, now);
    Ok(Json(ResetLoginResponse {
        reset_login: true,
        request_id: call.request_id,
    }))
}

pub async fn fire_webhook(
    State(s): State<Shared>,
    Extension(plaid): Extension<Plaid>,
    call: Call<FireWebhook>,
) -> Result<Json<FireWebhookResponse>, PlaidError> {
    let mut state = plaid.lock();
    let b = s.lock();
    item(&mut state, &call.body.access_token)?;
    let FireWebhook {
        access_token,
        webhook_code,
        webhook_type,
    } = call.body;
    webhooks::fire(
        &mut state,
        &b,
        &access_token,
        webhook_type.as_deref(),
        &webhook_code,
    )?;
    Ok(Json(FireWebhookResponse {
        webhook_fired: true,
        request_id: call.request_id,
    }))
}
