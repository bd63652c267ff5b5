//! Validation of the tenant sections: each mistake is refused with the offending key named.

use super::super::Settings;

fn demo() -> Settings {
    Settings::embedded_default()
}

fn error_of(settings: &Settings) -> String {
    settings.validate().unwrap_err().to_string()
}

#[test]
fn a_bad_time_zone_names_the_setting() {
    let mut s = demo();
    s.tenants[0].timezone = "Europe/Berlni".into();
    let err = error_of(&s);
    assert!(err.contains("timezone") && err.contains("Europe/Berlni"), "{err}");
}

#[test]
fn overlapping_phases_are_refused() {
    let mut s = demo();
    let perm = s.tenants[0].services.iter_mut().find(|x| x.id == "dauerwelle").unwrap();
    perm.phases[2].offset_minutes = Some(40);
    let err = error_of(&s);
    assert!(err.contains("dauerwelle") && err.contains("overlapping"), "{err}");
}

#[test]
fn a_service_nobody_performs_is_refused() {
    let mut s = demo();
    for staff in &mut s.tenants[0].staff {
        staff.services.retain(|x| x != "faerben");
    }
    let err = error_of(&s);
    assert!(err.contains("faerben") && err.contains("no staff member"), "{err}");
}

#[test]
fn a_service_starting_with_a_gap_is_refused() {
    let mut s = demo();
    let perm = s.tenants[0].services.iter_mut().find(|x| x.id == "dauerwelle").unwrap();
    perm.phases[0].gap = true;
    assert!(error_of(&s).contains("must start and end"));
}

#[test]
fn event_types_must_match_the_working_phases() {
    let mut s = demo();
    let perm = s.tenants[0].services.iter_mut().find(|x| x.id == "dauerwelle").unwrap();
    perm.calcom_event_types.values_mut().next().unwrap().pop();
    assert!(error_of(&s).contains("event types for 4 working phases"));
}

#[test]
fn unknown_services_on_staff_are_refused() {
    let mut s = demo();
    s.tenants[0].staff[0].services.push("manikuere".into());
    assert!(error_of(&s).contains("unknown service \"manikuere\""));
}

#[test]
fn an_email_template_must_make_one_address_per_caller() {
    let mut s = demo();
    s.tenants[0].calcom.attendee_email_fallback = "kasse@salon.example".into();
    assert!(error_of(&s).contains("attendee_email_fallback"));
    s.tenants[0].calcom.attendee_email_fallback = "telefon+{phone_digits}@salon".into();
    assert!(error_of(&s).contains("does not make an e-mail address"));
    s.tenants[0].calcom.attendee_email_fallback = "telefon+{phone_digits}@salon.example".into();
    let tenant = s.validate().expect("valid").tenants()[0].clone();
    let made = tenant.calcom.fallback_email(Some("+49 151 1234"), "apt_9");
    assert_eq!(made.as_deref(), Some("telefon+491511234@salon.example"));
    assert_eq!(tenant.calcom.fallback_email(None, "apt_9").as_deref(), Some("telefon+apt_9@salon.example"));
}

#[test]
fn bad_hours_are_refused() {
    let mut s = demo();
    s.tenants[0].hours.mon = vec!["18:00-09:00".into()];
    assert!(error_of(&s).contains("hours.mon"));
}
