//! The tenant sections of the configuration and their conversion into the domain catalogue.
//!
//! Validation happens here, once, with the path of the offending key in every message
//! (`tenants[0].services[dauerwelle].phases[2]: …`), so a salon's configuration mistake stops the
//! process at start instead of surfacing as a wrong answer to a caller.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use serde::Deserialize;

use super::ConfigError;
use crate::domain::catalogue::{BookingRules, FlagDefaults, Policy, TenantCalcom};
use crate::domain::hours::{DayOverride, Schedule, TimeRange, sorted_ranges};
use crate::domain::{E164, Phase, Service, Staff, Tenant};
use crate::secret::Secret;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    pub id: String,
    pub name: String,
    pub timezone: String,
    #[serde(default = "default_country_code")]
    pub country_code: String,
    pub phone_numbers: Vec<String>,
    #[serde(default)]
    pub agent_ids: Vec<String>,
    /// Default hours for staff who have none of their own.
    pub hours: WeekSettings,
    /// Days the whole salon is closed or has other hours.
    #[serde(default)]
    pub holidays: Vec<ExceptionSettings>,
    pub booking: BookingSettings,
    pub policy: PolicySettings,
    pub flags: FlagSettings,
    pub calcom: TenantCalcomSettings,
    pub staff: Vec<StaffSettings>,
    pub services: Vec<ServiceSettings>,
}

fn default_country_code() -> String {
    "49".into()
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeekSettings {
    #[serde(default)]
    pub mon: Vec<String>,
    #[serde(default)]
    pub tue: Vec<String>,
    #[serde(default)]
    pub wed: Vec<String>,
    #[serde(default)]
    pub thu: Vec<String>,
    #[serde(default)]
    pub fri: Vec<String>,
    #[serde(default)]
    pub sat: Vec<String>,
    #[serde(default)]
    pub sun: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionSettings {
    pub date: String,
    #[serde(default)]
    pub closed: bool,
    #[serde(default)]
    pub hours: Vec<String>,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookingSettings {
    pub slot_step_minutes: u32,
    pub min_notice_minutes: u32,
    pub horizon_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySettings {
    pub cancel_cutoff_hours: u32,
    pub max_reschedules: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagSettings {
    pub reservations_enabled: bool,
    pub reservations_rollout_percent: u8,
    pub parallel_booking_enabled: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantCalcomSettings {
    #[serde(default)]
    pub api_key: Secret,
    /// Read the API key from this environment variable instead (keeps secrets out of files).
    #[serde(default)]
    pub api_key_env: String,
    #[serde(default)]
    pub webhook_secret: Secret,
    #[serde(default)]
    pub webhook_secret_env: String,
    /// E-mail for callers who gave none, where a Cal.com event type requires one: a template with
    /// `{phone_digits}` (or `{booking_id}`), e.g. `"telefon+{phone_digits}@salon.example"`.
    /// Empty: such an event type is a configuration problem (`calcom doctor`, start-up).
    #[serde(default)]
    pub attendee_email_fallback: String,
}

/// A template must make one address per caller, and an address Cal.com accepts.
fn check_email_template(template: &str, key: &str) -> Result<(), ConfigError> {
    if template.is_empty() {
        return Ok(());
    }
    if !template.contains("{phone_digits}") && !template.contains("{booking_id}") {
        return Err(ConfigError::invalid(
            key,
            "needs {phone_digits} or {booking_id}, or every caller gets one address",
        ));
    }
    let sample = template.replace("{phone_digits}", "4915112345678").replace("{booking_id}", "apt_1");
    let mut parts = sample.split('@');
    let valid = matches!((parts.next(), parts.next(), parts.next()), (Some(l), Some(d), None)
        if !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.') && !sample.chars().any(char::is_whitespace));
    if valid { Ok(()) } else { Err(ConfigError::invalid(key, format!("{template:?} does not make an e-mail address"))) }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffSettings {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub calcom_user_id: Option<i64>,
    pub services: Vec<String>,
    #[serde(default)]
    pub hours: Option<WeekSettings>,
    #[serde(default)]
    pub exceptions: Vec<ExceptionSettings>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSettings {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub price_cents: u32,
    /// A simple service: one phase of this length. Give either `minutes` or `phases`.
    #[serde(default)]
    pub minutes: Option<u32>,
    #[serde(default)]
    pub phases: Vec<PhaseSettings>,
    /// Cal.com event type per staff-busy phase, per staff id (`anna = [5001, 5002]`).
    #[serde(default)]
    pub calcom_event_types: HashMap<String, Vec<i64>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseSettings {
    #[serde(default)]
    pub name: String,
    pub minutes: u32,
    /// A gap: the client waits, the stylist is free for others.
    #[serde(default)]
    pub gap: bool,
    /// Minutes from the service start; default: right after the previous phase.
    #[serde(default)]
    pub offset_minutes: Option<u32>,
}

fn week_to_domain(week: &WeekSettings, key: &str) -> Result<[Vec<TimeRange>; 7], ConfigError> {
    let days = [
        ("mon", &week.mon),
        ("tue", &week.tue),
        ("wed", &week.wed),
        ("thu", &week.thu),
        ("fri", &week.fri),
        ("sat", &week.sat),
        ("sun", &week.sun),
    ];
    let mut out: [Vec<TimeRange>; 7] = Default::default();
    for (index, (day, ranges)) in days.into_iter().enumerate() {
        out[index] = ranges_to_domain(ranges, &format!("{key}.{day}"))?;
    }
    Ok(out)
}

fn ranges_to_domain(ranges: &[String], key: &str) -> Result<Vec<TimeRange>, ConfigError> {
    let parsed = ranges
        .iter()
        .map(|r| TimeRange::parse(r).map_err(|e| ConfigError::invalid(key, e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    sorted_ranges(parsed).map_err(|e| ConfigError::invalid(key, e.to_string()))
}

fn exceptions_to_domain(
    list: &[ExceptionSettings],
    key: &str,
    into: &mut BTreeMap<NaiveDate, DayOverride>,
) -> Result<(), ConfigError> {
    for (i, exception) in list.iter().enumerate() {
        let key = format!("{key}[{i}]");
        let date = exception
            .date
            .parse::<NaiveDate>()
            .map_err(|_| ConfigError::invalid(&key, format!("date {:?} is not YYYY-MM-DD", exception.date)))?;
        let value = match (exception.closed, exception.hours.is_empty()) {
            (true, true) => DayOverride::Closed,
            (false, false) => DayOverride::Hours(ranges_to_domain(&exception.hours, &format!("{key}.hours"))?),
            (true, false) => return Err(ConfigError::invalid(&key, "is both closed and has hours")),
            (false, true) => return Err(ConfigError::invalid(&key, "needs closed = true or hours")),
        };
        into.insert(date, value);
    }
    Ok(())
}

fn secret_from(inline: &Secret, env_name: &str, key: &str) -> Result<Secret, ConfigError> {
    if env_name.is_empty() {
        return Ok(inline.clone());
    }
    std::env::var(env_name)
        .map(Secret::new)
        .map_err(|_| ConfigError::invalid(key, format!("environment variable {env_name} is not set")))
}

impl ServiceSettings {
    fn phases_to_domain(&self, key: &str) -> Result<Vec<Phase>, ConfigError> {
        let raw: Vec<PhaseSettings> = match (self.minutes, self.phases.is_empty()) {
            (Some(minutes), true) => {
                vec![PhaseSettings { name: self.name.clone(), minutes, gap: false, offset_minutes: None }]
            }
            (None, false) => self.phases.clone(),
            _ => return Err(ConfigError::invalid(key, "give either minutes or phases")),
        };
        let mut phases = Vec::with_capacity(raw.len());
        let mut end = 0u32;
        for (i, p) in raw.iter().enumerate() {
            let key = format!("{key}.phases[{i}]");
            if p.minutes == 0 {
                return Err(ConfigError::invalid(&key, "minutes must be greater than 0"));
            }
            let offset = p.offset_minutes.unwrap_or(end);
            if offset < end {
                return Err(ConfigError::invalid(
                    &key,
                    format!("starts at minute {offset}, overlapping the previous phase that ends at minute {end}"),
                ));
            }
            end = offset + p.minutes;
            let name = if p.name.is_empty() {
                if p.gap { "Einwirkzeit".into() } else { self.name.clone() }
            } else {
                p.name.clone()
            };
            phases.push(Phase { name, offset_minutes: offset, duration_minutes: p.minutes, staff_busy: !p.gap });
        }
        if phases.first().is_some_and(|p| !p.staff_busy) || phases.last().is_some_and(|p| !p.staff_busy) {
            return Err(ConfigError::invalid(
                key,
                "a service must start and end with a phase in which the stylist works",
            ));
        }
        Ok(phases)
    }
}

impl TenantSettings {
    pub(super) fn to_domain(&self, key: &str) -> Result<Tenant, ConfigError> {
        let key = format!("{key}({})", self.id);
        if self.id.is_empty() || !self.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(ConfigError::invalid(format!("{key}.id"), "use letters, digits, - and _"));
        }
        let tz: chrono_tz::Tz = self.timezone.parse().map_err(|_| {
            ConfigError::invalid(format!("{key}.timezone"), format!("{:?} is not an IANA time zone", self.timezone))
        })?;
        if self.phone_numbers.is_empty() && self.agent_ids.is_empty() {
            return Err(ConfigError::invalid(&key, "needs phone_numbers or agent_ids, or no call can reach it"));
        }
        let phone_numbers = self
            .phone_numbers
            .iter()
            .map(|p| {
                E164::parse(p, &self.country_code)
                    .map_err(|e| ConfigError::invalid(format!("{key}.phone_numbers"), e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let rules = &self.booking;
        if rules.slot_step_minutes == 0
            || !60u32.is_multiple_of(rules.slot_step_minutes) && !rules.slot_step_minutes.is_multiple_of(60)
        {
            return Err(ConfigError::invalid(
                format!("{key}.booking.slot_step_minutes"),
                "must divide an hour (5, 10, 15, 20, 30, 60)",
            ));
        }
        if rules.horizon_days == 0 {
            return Err(ConfigError::invalid(format!("{key}.booking.horizon_days"), "must be greater than 0"));
        }
        if self.flags.reservations_rollout_percent > 100 {
            return Err(ConfigError::invalid(format!("{key}.flags.reservations_rollout_percent"), "must be 0..=100"));
        }
        let tenant_week = week_to_domain(&self.hours, &format!("{key}.hours"))?;
        let mut holidays = BTreeMap::new();
        exceptions_to_domain(&self.holidays, &format!("{key}.holidays"), &mut holidays)?;

        let mut services = Vec::with_capacity(self.services.len());
        let mut service_ids = HashSet::new();
        for s in &self.services {
            let skey = format!("{key}.services[{}]", s.id);
            if !service_ids.insert(s.id.clone()) {
                return Err(ConfigError::invalid(&skey, "service id is used twice"));
            }
            services.push(Service {
                id: s.id.as_str().into(),
                name: s.name.clone(),
                aliases: s.aliases.clone(),
                price_cents: s.price_cents,
                phases: s.phases_to_domain(&skey)?,
                event_types: s.calcom_event_types.iter().map(|(k, v)| (k.as_str().into(), v.clone())).collect(),
            });
        }

        let mut staff = Vec::with_capacity(self.staff.len());
        let mut staff_ids = HashSet::new();
        for s in &self.staff {
            let stkey = format!("{key}.staff[{}]", s.id);
            if !staff_ids.insert(s.id.clone()) {
                return Err(ConfigError::invalid(&stkey, "staff id is used twice"));
            }
            for service in &s.services {
                if !service_ids.contains(service) {
                    return Err(ConfigError::invalid(
                        format!("{stkey}.services"),
                        format!("unknown service {service:?}"),
                    ));
                }
            }
            let week = match &s.hours {
                Some(hours) => week_to_domain(hours, &format!("{stkey}.hours"))?,
                None => tenant_week.clone(),
            };
            let mut exceptions = holidays.clone();
            exceptions_to_domain(&s.exceptions, &format!("{stkey}.exceptions"), &mut exceptions)?;
            staff.push(Staff {
                id: s.id.as_str().into(),
                name: s.name.clone(),
                calcom_user_id: s.calcom_user_id,
                services: s.services.iter().map(|x| x.as_str().into()).collect(),
                schedule: Schedule::new(week, exceptions),
            });
        }

        for service in &services {
            let skey = format!("{key}.services[{}]", service.id);
            if !staff.iter().any(|s| s.performs(&service.id)) {
                return Err(ConfigError::invalid(&skey, "no staff member performs this service"));
            }
            let busy = service.busy_phases().count();
            for (staff_id, types) in &service.event_types {
                if !staff.iter().any(|s| &s.id == staff_id) {
                    return Err(ConfigError::invalid(
                        format!("{skey}.calcom_event_types"),
                        format!("unknown staff {staff_id:?}"),
                    ));
                }
                if types.len() != busy {
                    return Err(ConfigError::invalid(
                        format!("{skey}.calcom_event_types.{staff_id}"),
                        format!("has {} event types for {busy} working phases", types.len()),
                    ));
                }
            }
        }

        check_email_template(&self.calcom.attendee_email_fallback, &format!("{key}.calcom.attendee_email_fallback"))?;
        let calcom = TenantCalcom {
            attendee_email_fallback: self.calcom.attendee_email_fallback.clone(),
            api_key: secret_from(&self.calcom.api_key, &self.calcom.api_key_env, &format!("{key}.calcom.api_key_env"))?,
            webhook_secret: secret_from(
                &self.calcom.webhook_secret,
                &self.calcom.webhook_secret_env,
                &format!("{key}.calcom.webhook_secret_env"),
            )?,
        };

        Ok(Tenant {
            id: self.id.as_str().into(),
            name: self.name.clone(),
            tz,
            country_code: self.country_code.clone(),
            phone_numbers,
            agent_ids: self.agent_ids.clone(),
            staff,
            services,
            rules: BookingRules {
                slot_step_minutes: rules.slot_step_minutes,
                min_notice_minutes: rules.min_notice_minutes,
                horizon_days: rules.horizon_days,
            },
            policy: Policy {
                cancel_cutoff_hours: self.policy.cancel_cutoff_hours,
                max_reschedules: self.policy.max_reschedules,
            },
            calcom,
            flags: FlagDefaults {
                reservations_enabled: self.flags.reservations_enabled,
                reservations_rollout_percent: self.flags.reservations_rollout_percent,
                parallel_booking_enabled: self.flags.parallel_booking_enabled,
            },
        })
    }
}

#[cfg(test)]
mod tests;
