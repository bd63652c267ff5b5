//! Unit tests of the parent module.

use super::*;

#[test]
fn base_url_is_normalised() {
    for (input, expected) in [
        ("https://api.cal.com", "https://api.cal.com"),
        ("https://api.cal.com/", "https://api.cal.com"),
        ("https://api.cal.com/v2", "https://api.cal.com"),
        ("http://127.0.0.1:8080/v2/", "http://127.0.0.1:8080"),
    ] {
        let cfg = ClientConfig { base_url: input.to_owned(), ..ClientConfig::default() };
        let c = CalcomClient::new(&cfg).expect("valid url");
        assert_eq!(c.base_url(), expected);
    }
    for input in ["", "ftp://x", "not a url"] {
        let cfg = ClientConfig { base_url: input.to_owned(), ..ClientConfig::default() };
        assert!(CalcomClient::new(&cfg).is_err(), "{input}");
    }
}

#[test]
fn debug_does_not_leak_anything_but_the_base() {
    let c = CalcomClient::new(&ClientConfig::default()).expect("client");
    assert_eq!(format!("{c:?}"), "CalcomClient { base_url: \"https://api.cal.com\" }");
}
