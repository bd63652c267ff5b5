//! Who is calling whom: the tenant and the caller behind a Retell function call.
//!
//! Invariant BK-… "tenants are walls": a call is attributed by the number it called (E.164) or by
//! the Retell agent id, or by the record of an earlier request of the same call; if none of these
//! names a configured tenant, or two of them name different tenants, the request is refused —
//! there is no default tenant to fall back to.

use std::sync::Arc;

use crate::domain::ids::CallIdError;
use crate::domain::{CallId, E164, Tenant};
use crate::store::CallRecord;

/// What the request says about the call (any of it may be missing in "args only" mode).
#[derive(Debug, Clone, Default)]
pub struct CallInfo {
    /// Retell's "args only" mode: later requests of this call may carry no call object, so the
    /// call is recorded for attributing them.
    pub args_only: bool,
    pub call_id: Option<String>,
    pub agent_id: Option<String>,
    pub from_number: Option<String>,
    pub to_number: Option<String>,
}

/// A call attributed to a tenant.
#[derive(Debug, Clone)]
pub struct CallContext {
    pub tenant: Arc<Tenant>,
    pub call_id: CallId,
    /// The caller's number; `None` when hidden or unknown.
    pub caller: Option<E164>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    #[error("{0}")]
    CallId(#[from] CallIdError),
    #[error("the call cannot be attributed to a tenant")]
    UnknownTenant,
    #[error("the called number and the agent id belong to different tenants")]
    AmbiguousTenant,
}

impl super::BookingService {
    /// Attributes a call. In "args only" mode, stores the call the first time it is seen, so later
    /// requests of the same call without tenant headers can be attributed too.
    pub async fn resolve_call(&self, info: &CallInfo) -> Result<CallContext, ContextError> {
        let call_id = CallId::parse(info.call_id.as_deref().unwrap_or(""))?;
        let tenant = match self.tenant_for(info.to_number.as_deref(), info.agent_id.as_deref()) {
            Some(found) => found?,
            None => self.tenant_from_record(&call_id).await?,
        };
        let mut caller = info.from_number.as_deref().and_then(|n| E164::parse(n, &tenant.country_code).ok());
        if caller.is_none() && info.from_number.is_none() {
            caller = self.caller_from_record(&call_id, &tenant).await;
        }
        self.remember_call(&call_id, &tenant, info).await;
        Ok(CallContext { tenant, call_id, caller })
    }

    /// The tenant a called number (E.164) and an agent id name; `None` when neither is given.
    /// Either one naming no tenant, or the two naming different tenants, is an error.
    pub fn tenant_for(
        &self,
        to_number: Option<&str>,
        agent_id: Option<&str>,
    ) -> Option<Result<Arc<Tenant>, ContextError>> {
        let catalogue = &self.inner.catalogue;
        let by_number = to_number
            .and_then(|n| E164::parse(n, "").ok())
            .map(|n| catalogue.tenant_by_phone(&n).cloned().ok_or(ContextError::UnknownTenant));
        let by_agent = agent_id
            .filter(|a| !a.is_empty())
            .map(|a| catalogue.tenant_by_agent(a).cloned().ok_or(ContextError::UnknownTenant));
        Some(match (by_number, by_agent) {
            (Some(Ok(a)), Some(Ok(b))) if a.id != b.id => Err(ContextError::AmbiguousTenant),
            (Some(Ok(t)), _) | (None, Some(Ok(t))) => Ok(t),
            (Some(Err(e)), _) | (None, Some(Err(e))) => Err(e),
            (None, None) => return None,
        })
    }

    async fn tenant_from_record(&self, call_id: &CallId) -> Result<Arc<Tenant>, ContextError> {
        match self.inner.store.get_call(call_id.as_str()).await {
            Ok(Some(record)) => self.inner.catalogue.tenant(&record.tenant).cloned().ok_or(ContextError::UnknownTenant),
            _ => Err(ContextError::UnknownTenant),
        }
    }

    async fn caller_from_record(&self, call_id: &CallId, tenant: &Tenant) -> Option<E164> {
        let record = self.inner.store.get_call(call_id.as_str()).await.ok()??;
        (record.tenant == tenant.id).then_some(())?;
        E164::parse(record.from_number.as_deref()?, &tenant.country_code).ok()
    }

    async fn remember_call(&self, call_id: &CallId, tenant: &Tenant, info: &CallInfo) {
        // Default-mode requests carry the call object every time, and call_started records the
        // call anyway: only "args only" requests need it stored on the request path.
        if !info.args_only || (info.to_number.is_none() && info.agent_id.is_none()) {
            return;
        }
        if !self.inner.seen_calls.insert(call_id.as_str().to_owned()) {
            return;
        }
        if self.inner.seen_calls.len() > SEEN_CALLS_MAX {
            self.inner.seen_calls.clear();
        }
        let record = CallRecord {
            call_id: call_id.to_string(),
            tenant: tenant.id.clone(),
            agent_id: info.agent_id.clone(),
            from_number: info.from_number.clone(),
            to_number: info.to_number.clone(),
            status: "ongoing".into(),
            started_at: None,
            ended_at: None,
            disconnection_reason: None,
        };
        if let Err(err) = self.inner.store.upsert_call(&record, self.inner.clock.now()).await {
            tracing::warn!(call_id = %call_id, error = %err, "could not record the call");
        }
    }
}

/// Calls remembered as already recorded (bounded; forgetting only costs one more upsert).
const SEEN_CALLS_MAX: usize = 100_000;
