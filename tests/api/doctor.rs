//! `slotkeeper calcom doctor` against the simulator seeded with misconfigurations (issue 14,
//! part 3): each one is reported as a problem, a correct set-up as all ok.

use std::net::SocketAddr;

use calcom_api::types::Webhook;
use calcom_sim::{CalcomSim, SimConfig, SimWebhook};
use slotkeeper::calcom::doctor::{self, Check};
use slotkeeper::calcom::{CalcomClient, ClientConfig};
use slotkeeper::config::Settings;

const HOOK: &str = "https://slotkeeper.example/calcom/webhook";

async fn doctor_with(change: impl FnOnce(&mut SimConfig), tweak: impl FnOnce(&mut Settings)) -> Vec<Check> {
    let mut settings = Settings::embedded_default();
    tweak(&mut settings);
    let catalogue = settings.validate().unwrap();
    let mut config = slotkeeper::simulator::standalone_sim_config(&catalogue, 0, None, 0.0, 0);
    let tenant = catalogue.tenants()[0].clone();
    config.webhook =
        Some(SimWebhook::new(format!("{HOOK}?tenant={}", tenant.id), tenant.calcom.webhook_secret.expose()));
    change(&mut config);
    let sim = CalcomSim::start(SocketAddr::from(([127, 0, 0, 1], 0)), config).await.unwrap();
    let client = CalcomClient::new(&ClientConfig { base_url: sim.base_url(), ..ClientConfig::default() }).unwrap();
    doctor::run(&client, &tenant, HOOK).await
}

fn problems(checks: &[Check]) -> Vec<String> {
    checks.iter().filter(|c| !c.ok).map(|c| format!("{} | {} | {}", c.name, c.fix_de, c.fix_en)).collect()
}

#[tokio::test]
async fn a_correct_set_up_is_all_ok() {
    let checks = doctor_with(|_| {}, |_| {}).await;
    assert!(problems(&checks).is_empty(), "{:?}", problems(&checks));
    assert!(checks.iter().any(|c| c.name.contains("slot reservation")));
    assert!(doctor::render("salon-beispiel", &checks).contains("ok"));
}

#[tokio::test]
async fn each_seeded_misconfiguration_is_reported() {
    let checks = doctor_with(
        |c| {
            c.event_types.retain(|e| e.id != 1102); // missing
            for e in &mut c.event_types {
                match e.id {
                    1101 => e.length_minutes = 45, // wrong length
                    1201 => e.host_user_id = 999,  // someone else's
                    _ => {}
                }
            }
            c.listed_webhooks = Some(vec![Webhook {
                id: 1,
                subscriber_url: format!("{HOOK}?tenant=salon-beispiel"),
                triggers: vec!["BOOKING_CREATED".into()],
                active: true,
                secret: Some("wrong".into()),
                payload_template: String::new(),
                user_id: None,
            }]);
        },
        |s| s.tenants[0].calcom.attendee_email_fallback.clear(),
    )
    .await;
    let found = problems(&checks);
    let has = |needle: &str| found.iter().any(|p| p.contains(needle));
    assert!(has("Event-Type 1102") && has("does not exist"), "{found:#?}");
    assert!(has("Event-Type 1101: Dauer / length") && has("fixed length of 45"), "{found:#?}");
    assert!(has("Event-Type 1201: Gastgeber / host") && has("999"), "{found:#?}");
    assert!(has("booking fields") && has("attendee_email_fallback"), "{found:#?}");
    assert!(has("Webhook") && has("secret, triggers"), "{found:#?}");
}

#[tokio::test]
async fn a_wrong_api_key_is_reported_first() {
    let checks = doctor_with(|c| c.api_keys = vec!["cal_other".into()], |_| {}).await;
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert!(!checks[0].ok && checks[0].name.contains("API key"));
}

/// `calcom import`'s draft, from the simulator's event types, parses as tenant configuration.
#[tokio::test]
async fn the_import_draft_parses_as_tenant_configuration() {
    let settings = Settings::embedded_default();
    let catalogue = settings.validate().unwrap();
    let config = slotkeeper::simulator::standalone_sim_config(&catalogue, 0, None, 0.0, 0);
    let sim = CalcomSim::start(SocketAddr::from(([127, 0, 0, 1], 0)), config).await.unwrap();
    let client = CalcomClient::new(&ClientConfig { base_url: sim.base_url(), ..ClientConfig::default() }).unwrap();
    let types = client.list_event_types("cal_demo_salon_beispiel").await.unwrap();
    assert!(!types.is_empty());
    let toml = slotkeeper::calcom::import::draft(&settings.tenants[0], &types);
    let dir = std::env::temp_dir().join(format!("sk-import-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = dir.join("draft.toml");
    // The shipped file with its tenants replaced by the draft.
    let shipped = slotkeeper::config::EMBEDDED_DEFAULT;
    let head = &shipped[..shipped.find("[[tenants]]").unwrap()];
    std::fs::write(&base, format!("{head}{toml}")).unwrap();
    let sources =
        slotkeeper::config::Sources { base_file: Some(base), env: Some(Default::default()), ..Default::default() };
    let loaded = Settings::load(&sources).unwrap_or_else(|e| panic!("{e}\n{toml}"));
    let tenant = &loaded.tenants[0];
    assert_eq!(tenant.staff.len(), 3, "{toml}");
    assert!(tenant.staff.iter().all(|s| s.calcom_user_id.is_some()));
    assert!(tenant.services.iter().any(|s| s.calcom_event_types.values().any(|ids| ids == &vec![1101])), "{toml}");
}
