//! The function calls a phone agent makes, typed, with their replay policy (invariant BK-3).
//!
//! A [`Command`] is one call with its arguments already checked against the function's schema
//! (a missing required field is refused before anything runs, naming the field). What is
//! stored for replay is decided here, in one place, by [`Function::keeps`]: answers that did
//! something (a hold, an offer, a booking, a cancellation) or refused something are stored;
//! "try again in a minute" is not (it must not be replayed when the agent does try again), and
//! neither is a `check_availability` that held nothing (a retry simply asks again, which keeps
//! the hot read path free of writes). Read-only functions are never stored.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::answer::*;

/// The functions this service offers (also listed in `config/retell-tools.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    CheckAvailability,
    StartBooking,
    CancelBooking,
    RescheduleBooking,
    FindAlternatives,
    ReleaseReservation,
    GetAppointments,
}

impl Function {
    pub const ALL: [Function; 7] = [
        Function::CheckAvailability,
        Function::StartBooking,
        Function::CancelBooking,
        Function::RescheduleBooking,
        Function::FindAlternatives,
        Function::ReleaseReservation,
        Function::GetAppointments,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Function::CheckAvailability => "check_availability",
            Function::StartBooking => "start_booking",
            Function::CancelBooking => "cancel_booking",
            Function::RescheduleBooking => "reschedule_booking",
            Function::FindAlternatives => "find_alternatives",
            Function::ReleaseReservation => "release_reservation",
            Function::GetAppointments => "get_appointments",
        }
    }

    /// Functions without effects: their answers are not stored for replay.
    pub fn is_read_only(self) -> bool {
        matches!(self, Function::FindAlternatives | Function::GetAppointments)
    }

    /// Accepts version suffixes (`check_availability_v17`), which agent flows add.
    pub fn parse(name: &str) -> Option<Function> {
        let trimmed = name.trim();
        let base = match trimmed.rsplit_once("_v") {
            Some((base, version)) if !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()) => base,
            _ => trimmed,
        };
        Function::ALL.into_iter().find(|f| f.name().eq_ignore_ascii_case(base))
    }

    /// Whether this function's `answer` is stored and replayed to a retry.
    pub fn keeps(self, answer: &Answer) -> bool {
        !self.is_read_only()
            && answer.reason != Some("calendar_unavailable")
            && (self != Function::CheckAvailability || answer.reservation_token.is_some())
    }
}

/// One function call with its typed arguments.
#[derive(Debug)]
pub enum Command {
    CheckAvailability(CheckAvailabilityArgs),
    StartBooking(StartBookingArgs),
    CancelBooking(CancelBookingArgs),
    RescheduleBooking(RescheduleBookingArgs),
    FindAlternatives(FindAlternativesArgs),
    ReleaseReservation(ReleaseReservationArgs),
    GetAppointments(GetAppointmentsArgs),
}

/// Arguments that do not fit the function's schema; the message names the field.
#[derive(Debug, thiserror::Error)]
#[error("arguments: {0}")]
pub struct InvalidArguments(pub serde_json::Error);

impl Command {
    /// The typed call of `function` with `args` (a JSON object).
    pub fn parse(function: Function, args: Value) -> Result<Command, InvalidArguments> {
        fn typed<T: DeserializeOwned>(args: Value) -> Result<T, InvalidArguments> {
            serde_json::from_value(args).map_err(InvalidArguments)
        }
        Ok(match function {
            Function::CheckAvailability => Command::CheckAvailability(typed(args)?),
            Function::StartBooking => Command::StartBooking(typed(args)?),
            Function::CancelBooking => Command::CancelBooking(typed(args)?),
            Function::RescheduleBooking => Command::RescheduleBooking(typed(args)?),
            Function::FindAlternatives => Command::FindAlternatives(typed(args)?),
            Function::ReleaseReservation => Command::ReleaseReservation(typed(args)?),
            Function::GetAppointments => Command::GetAppointments(typed(args)?),
        })
    }

    pub fn function(&self) -> Function {
        match self {
            Command::CheckAvailability(_) => Function::CheckAvailability,
            Command::StartBooking(_) => Function::StartBooking,
            Command::CancelBooking(_) => Function::CancelBooking,
            Command::RescheduleBooking(_) => Function::RescheduleBooking,
            Command::FindAlternatives(_) => Function::FindAlternatives,
            Command::ReleaseReservation(_) => Function::ReleaseReservation,
            Command::GetAppointments(_) => Function::GetAppointments,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_suffixes_are_stripped() {
        assert_eq!(Function::parse("check_availability_v17"), Some(Function::CheckAvailability));
        assert_eq!(Function::parse("start_booking"), Some(Function::StartBooking));
        assert_eq!(Function::parse("Start_Booking_V2"), None, "V is not v");
        assert_eq!(Function::parse("start_booking_v"), None);
        assert_eq!(Function::parse("book_appointment"), None);
    }

    #[test]
    fn only_answers_that_did_or_refused_something_are_kept() {
        let held = Answer { reservation_token: Some("rsv_1".into()), ..Answer::ok("") };
        let free_times = Answer::ok("");
        let busy = Answer::refused("calendar_unavailable", "");
        assert!(Function::CheckAvailability.keeps(&held));
        assert!(!Function::CheckAvailability.keeps(&free_times));
        assert!(Function::StartBooking.keeps(&Answer::refused("expired", "")));
        assert!(!Function::StartBooking.keeps(&busy));
        assert!(!Function::GetAppointments.keeps(&free_times));
    }
}
