//! Cross-node calendar notices (PostgreSQL `LISTEN slotkeeper_calendar`).
//!
//! A trigger on `busy_intervals` and `external_busy` sends `tenant/staff/application_name` on every
//! change. Each node listens and tells its calendar actor for that staff member to reload, so a
//! view made stale by another node's booking is refreshed within milliseconds — and until then,
//! the exclusion constraint still refuses any overlapping hold (the actor then reloads and answers
//! "taken"). Notices a node sent itself are ignored.

use sqlx::postgres::PgListener;
use tokio::sync::mpsc;

use super::{Store, StoreError};
use crate::domain::StaffKey;

pub const CHANNEL: &str = "slotkeeper_calendar";

/// Another node changed this calendar; `key: None` means any calendar may have changed (the
/// listener's connection was lost, and notices sent meanwhile are gone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarNotice {
    pub key: Option<StaffKey>,
}

/// Parses `tenant/staff/application_name`; `None` for malformed payloads or our own notices.
pub fn parse_notice(payload: &str, own_application_name: &str) -> Option<CalendarNotice> {
    let mut parts = payload.splitn(3, '/');
    let tenant = parts.next().filter(|s| !s.is_empty())?;
    let staff = parts.next().filter(|s| !s.is_empty())?;
    let sender = parts.next().unwrap_or("");
    if sender == own_application_name {
        return None;
    }
    Some(CalendarNotice { key: Some(StaffKey::new(tenant.into(), staff.into())) })
}

impl Store {
    /// Starts listening (PostgreSQL only; `Ok(None)` for SQLite, which has one process anyway).
    /// The task ends when the receiver is dropped; it reconnects after connection loss.
    pub async fn listen_calendar_notices(&self) -> Result<Option<mpsc::Receiver<CalendarNotice>>, StoreError> {
        let Some(pool) = self.postgres_pool().cloned() else { return Ok(None) };
        let own = format!("slotkeeper-{}", self.node_id());
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(CHANNEL).await?;
        let (tx, rx) = mpsc::channel(1024);
        tokio::spawn(async move {
            loop {
                match listener.try_recv().await {
                    Ok(Some(notification)) => {
                        if let Some(notice) = parse_notice(notification.payload(), &own)
                            && tx.send(notice).await.is_err()
                        {
                            return;
                        }
                    }
                    // The connection was lost and is re-established by the next receive: changes
                    // made meanwhile were missed, so every calendar reloads.
                    Ok(None) => {
                        tracing::warn!("calendar notice connection was lost; reconnecting, every calendar reloads");
                        if tx.send(CalendarNotice { key: None }).await.is_err() {
                            return;
                        }
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "calendar notice listener failed; retrying");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
                if tx.is_closed() {
                    return;
                }
            }
        });
        Ok(Some(rx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_from_other_nodes_name_the_calendar() {
        let notice = parse_notice("salon-beispiel/anna/slotkeeper-node-b", "slotkeeper-node-a").unwrap();
        assert_eq!(notice.key.unwrap().to_string(), "salon-beispiel/anna");
    }

    #[test]
    fn own_and_malformed_notices_are_ignored() {
        assert_eq!(parse_notice("salon-beispiel/anna/slotkeeper-node-a", "slotkeeper-node-a"), None);
        assert_eq!(parse_notice("garbage", "x"), None);
        assert_eq!(parse_notice("/anna/x", "y"), None);
    }
}
