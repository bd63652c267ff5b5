//! Pieces every admin page shares: the frame (navigation, who is signed in, the logout form with
//! its CSRF token), the one-line notices after an action, the tenant filter and the pager.
//!
//! Notices are a closed set chosen by a query value (`?notice=cancelled`): a link cannot make the
//! page say anything we did not write.

use askama::Template;
use axum::response::{Html, IntoResponse, Response};

use super::auth::AdminSession;
use super::error::AdminError;
use super::format::{href, page_count};
use crate::domain::{Catalogue, TenantId};
use crate::store::admin::AdminRole;

/// Renders a page template as HTML, or the German error page.
pub fn render(page: &impl Template) -> Result<Response, AdminError> {
    Ok(Html(page.render()?).into_response())
}

/// The frame around every signed-in page.
pub struct Chrome {
    pub username: String,
    pub role_label: &'static str,
    /// The salon of a tenant admin; "alle Salons" for operators.
    pub scope_label: String,
    pub csrf: String,
    /// Which navigation entry is current: `reservations`, `bookings` or `flags`.
    pub nav: &'static str,
    pub notice: Option<Notice>,
}

impl Chrome {
    pub fn new(session: &AdminSession, catalogue: &Catalogue, nav: &'static str, notice: &str) -> Self {
        let scope_label = match session.scope() {
            Some(tenant) => tenant_name(catalogue, tenant),
            None => "alle Salons".into(),
        };
        let role_label = match session.role {
            AdminRole::Operator => "Betrieb",
            AdminRole::TenantAdmin => "Salon-Admin",
        };
        Self {
            username: session.username.clone(),
            role_label,
            scope_label,
            csrf: session.csrf.clone(),
            nav,
            notice: Notice::parse(notice),
        }
    }
}

/// What the page says after an action (Post/Redirect/Get).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Cancelled,
    NotCancellable,
    Retried,
    NotDead,
    Released,
    NotReleasable,
    FlagSaved,
    FlagUnchanged,
}

impl Notice {
    const ALL: [(Notice, &'static str); 8] = [
        (Notice::Cancelled, "cancelled"),
        (Notice::NotCancellable, "not-cancellable"),
        (Notice::Retried, "retried"),
        (Notice::NotDead, "not-dead"),
        (Notice::Released, "released"),
        (Notice::NotReleasable, "not-releasable"),
        (Notice::FlagSaved, "flag-saved"),
        (Notice::FlagUnchanged, "flag-unchanged"),
    ];

    pub fn parse(text: &str) -> Option<Notice> {
        Self::ALL.iter().find(|(_, key)| *key == text).map(|(notice, _)| *notice)
    }

    pub fn key(self) -> &'static str {
        Self::ALL.iter().find(|(notice, _)| *notice == self).map_or("", |(_, key)| key)
    }

    pub fn text(self) -> &'static str {
        match self {
            Notice::Cancelled => "Die Buchung wurde storniert. Die Absage an Cal.com ist unterwegs.",
            Notice::NotCancellable => "Diese Buchung ist nicht (mehr) bestätigt und kann nicht storniert werden.",
            Notice::Retried => "Der Auftrag wurde erneut in die Warteschlange gestellt.",
            Notice::NotDead => "Dieser Auftrag ist nicht mehr unzustellbar (er wurde schon erneut gestartet).",
            Notice::Released => "Die Reservierung wurde freigegeben; der Termin ist wieder buchbar.",
            Notice::NotReleasable => "Diese Reservierung ist nicht mehr aktiv und kann nicht freigegeben werden.",
            Notice::FlagSaved => "Die Einstellung wurde gespeichert und gilt ab sofort.",
            Notice::FlagUnchanged => "Keine Änderung: die Einstellung hatte schon diesen Wert.",
        }
    }

    /// `notice-success` for done, `notice-info` for nothing to do.
    pub fn class(self) -> &'static str {
        match self {
            Notice::Cancelled | Notice::Retried | Notice::Released | Notice::FlagSaved => "notice-success",
            Notice::NotCancellable | Notice::NotDead | Notice::NotReleasable | Notice::FlagUnchanged => "notice-info",
        }
    }
}

/// The salon's name, or its id when it is no longer configured.
pub fn tenant_name(catalogue: &Catalogue, tenant: &TenantId) -> String {
    catalogue.tenant(tenant).map_or_else(|| tenant.to_string(), |t| t.name.clone())
}

/// An entry of the operators' salon filter.
pub struct TenantOption {
    pub id: String,
    pub name: String,
    pub selected: bool,
}

/// The salon filter (operators only; empty for tenant admins, who see one salon).
pub fn tenant_options(session: &AdminSession, catalogue: &Catalogue, selected: Option<&TenantId>) -> Vec<TenantOption> {
    if !session.is_operator() {
        return Vec::new();
    }
    catalogue
        .tenants()
        .iter()
        .map(|t| TenantOption { id: t.id.to_string(), name: t.name.clone(), selected: selected == Some(&t.id) })
        .collect()
}

/// "Seite 2 von 5 · 212 Einträge" with links that keep the filters.
pub struct Pager {
    pub page: i64,
    pub pages: i64,
    pub total: u64,
    pub prev_href: Option<String>,
    pub next_href: Option<String>,
}

impl Pager {
    /// `filters` are the list's query pairs without `page`.
    pub fn new(path: &str, filters: &[(&str, &str)], page: i64, total: u64, page_size: i64) -> Self {
        let pages = page_count(total, page_size);
        let link = |target: i64| {
            let number = target.to_string();
            let mut pairs: Vec<(&str, &str)> = filters.to_vec();
            if target > 1 {
                pairs.push(("page", number.as_str()));
            }
            href(path, &pairs)
        };
        Self {
            page,
            pages,
            total,
            prev_href: (page > 1).then(|| link((page - 1).min(pages))),
            next_href: (page < pages).then(|| link(page + 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_round_trip_and_unknown_ones_are_ignored() {
        for (notice, key) in Notice::ALL {
            assert_eq!(Notice::parse(key), Some(notice));
            assert_eq!(notice.key(), key);
        }
        assert_eq!(Notice::parse("<script>"), None);
    }

    #[test]
    fn the_pager_keeps_filters_and_stops_at_the_ends() {
        let pager = Pager::new("/admin/reservations", &[("status", "active")], 2, 120, 50);
        assert_eq!(pager.pages, 3);
        assert_eq!(pager.prev_href.as_deref(), Some("/admin/reservations?status=active"));
        assert_eq!(pager.next_href.as_deref(), Some("/admin/reservations?status=active&page=3"));
        let last = Pager::new("/admin/reservations", &[], 3, 120, 50);
        assert_eq!(last.next_href, None);
    }
}
