//! Calendar actors: one per staff member, the only writer of that person's slots.
//!
//! * [`actor`]: the actor, its write-through to the store and its versioned expiry timers;
//! * [`messages`]: the verbs it understands (find free, hold, validate, convert, release, …);
//! * [`state`]: the pure in-memory calendar it keeps;
//! * [`supervisor`]: spawning on demand, restarting after a panic, routing requests;
//! * [`windows`]: the stylist's bookable time as Cal.com last said it (configured hours elsewhere);
//! * [`background`]: the sweeper, the gauges and the cross-node notice listener.

pub mod actor;
mod background;
mod build;
pub mod messages;
pub mod state;
pub mod supervisor;
pub mod windows;

pub use actor::CalendarContext;
pub use background::Sweeper;
pub use build::phase_records;
pub use messages::*;
pub use supervisor::Calendars;
