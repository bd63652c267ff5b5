//! The calendars' background work, each task spawned here on the application's tracker:
//!
//! * the **sweeper**, the safety net behind the actors' own timers (invariant: a hold past its
//!   TTL never outlives a sweeper interval, even when its actor is not running or the process
//!   was down): it expires due holds in the store on every calendar, tells running actors to
//!   forget them, and reports them as ended to the Cal.com hold mirror;
//! * the **gauges** of running actors and their mailboxes;
//! * the **notice listener** of several nodes: a change another node committed reloads that
//!   calendar here within milliseconds (PostgreSQL `LISTEN/NOTIFY`; a burst for one calendar is
//!   one reload; a lost connection reloads every running calendar).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{CalendarEvent, CalendarMsg, Calendars, HoldEnd};
use crate::clock::Clock;
use crate::metrics;
use crate::store::{CalendarNotice, ReservationKind, Store, StoreError};

const GAUGE_EVERY: Duration = Duration::from_secs(1);
/// Notices arriving within this window after the first are applied as one reload per calendar.
const NOTICE_COALESCE: Duration = Duration::from_millis(5);

/// What the sweeper works with.
#[derive(Clone)]
pub struct Sweeper {
    pub store: Store,
    pub calendars: Calendars,
    pub clock: Clock,
    /// Where expired holds are reported (the Cal.com hold mirror); `None` reports nothing.
    pub events: Option<mpsc::Sender<CalendarEvent>>,
    pub every: Duration,
}

impl Sweeper {
    pub fn spawn(self, tasks: &TaskTracker, stop: CancellationToken) -> JoinHandle<()> {
        tasks.spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = self.clock.sleep(self.every) => {}
                }
                self.sweep().await;
            }
        })
    }

    /// One pass: expires holds past their TTL everywhere, tells running actors, and reports the
    /// holds as ended (also those of calendars this process does not run).
    pub async fn sweep(&self) {
        match self.store.expire_due_holds(self.clock.now()).await {
            Ok(due) => {
                let mut by_calendar: HashMap<_, Vec<_>> = HashMap::new();
                for hold in due.into_iter().filter(|h| h.kind == ReservationKind::Hold) {
                    metrics::reservation_expired(hold.is_compound);
                    by_calendar.entry(hold.key).or_default().push(hold.token);
                }
                for (key, tokens) in by_calendar {
                    if let Some(events) = &self.events {
                        for token in &tokens {
                            let ended = CalendarEvent::HoldEnded {
                                key: key.clone(),
                                token: token.clone(),
                                reason: HoldEnd::Expired,
                            };
                            let _ = events.send(ended).await;
                        }
                    }
                    self.calendars.tell(&key, CalendarMsg::Forget(tokens));
                }
            }
            Err(err) => tracing::warn!(error = %err, "sweeper could not expire holds"),
        }
        match self.store.count_active_holds().await {
            Ok(active) => metrics::reservations_active(active),
            Err(err) => tracing::debug!(error = %err, "could not count active holds"),
        }
    }
}

impl Calendars {
    /// Keeps `calendar_actors` and `calendar_actor_mailbox_depth` current (set first, then wait:
    /// the gauges exist from the first scrape).
    pub fn spawn_gauges(&self, tasks: &TaskTracker, stop: CancellationToken) -> JoinHandle<()> {
        let calendars = self.clone();
        tasks.spawn(async move {
            loop {
                metrics::calendar_actors(calendars.count());
                metrics::calendar_mailbox_depth(calendars.in_flight());
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(GAUGE_EVERY) => {}
                }
            }
        })
    }

    /// Reloads calendars that other nodes changed; `None` when the store has no notices (SQLite,
    /// one process). The task reports on `died` when the listener ends for good.
    pub async fn spawn_notice_listener(
        &self,
        store: &Store,
        tasks: &TaskTracker,
        stop: CancellationToken,
        died: mpsc::Sender<&'static str>,
    ) -> Result<Option<JoinHandle<()>>, StoreError> {
        let Some(mut notices) = store.listen_calendar_notices().await? else { return Ok(None) };
        let calendars = self.clone();
        Ok(Some(tasks.spawn(async move {
            let mut pending = HashSet::new();
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    notice = notices.recv() => match notice {
                        Some(notice) => {
                            calendars.note(&mut pending, notice);
                            let coalesce = tokio::time::sleep(NOTICE_COALESCE);
                            tokio::pin!(coalesce);
                            loop {
                                tokio::select! {
                                    _ = &mut coalesce => break,
                                    more = notices.recv() => match more {
                                        Some(more) => calendars.note(&mut pending, more),
                                        None => break,
                                    },
                                }
                            }
                            for key in pending.drain() {
                                calendars.tell(&key, CalendarMsg::Reload(None));
                            }
                        }
                        None => {
                            let _ = died.try_send("calendar notice listener");
                            return;
                        }
                    }
                }
            }
        })))
    }

    /// A notice names one calendar; one without a calendar (the listener reconnected) stands for
    /// every running one.
    fn note(&self, pending: &mut HashSet<crate::domain::StaffKey>, notice: CalendarNotice) {
        match notice.key {
            Some(key) => {
                pending.insert(key);
            }
            None => pending.extend(self.running()),
        }
    }
}
