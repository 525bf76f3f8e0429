//! wasm32 tests (Node, `wasm-bindgen-test-runner`): the JS values the worker hands
//! to `sendMessage`/`postMessage` are the plain objects the JS shims expect, and
//! plain JS objects from the shims decode into the typed enums.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)]

use js_sys::{Reflect, JSON};
use mpt_background::app::message;
use mpt_core::engine::VoiceEvent;
use mpt_core::msg::{BackgroundToContent, ContentToBackground, OffscreenToBackground};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

fn get(v: &JsValue, k: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(k)).unwrap()
}

#[wasm_bindgen_test]
fn outgoing_messages_are_plain_json_objects() {
    let v = message(&BackgroundToContent::PhoneState { signed_in: false, panel: true }).unwrap();
    assert_eq!(JSON::stringify(&v).unwrap().as_string().unwrap(), r#"{"type":"PhoneState","signed_in":false,"panel":true}"#);
    let v = message(&BackgroundToContent::Numbers {
        matches: mpt_background::fallback::find(&["Call 415-555-0134".into()], mpt_core::phone::Region::US),
    })
    .unwrap();
    let first = Reflect::get_u32(&get(&v, "matches"), 0).unwrap();
    assert_eq!(get(&first, "e164").as_string().as_deref(), Some("+14155550134"));
    assert_eq!(get(&first, "start").as_f64(), Some(5.0));
    assert_eq!(get(&first, "end").as_f64(), Some(17.0));
}

#[wasm_bindgen_test]
fn plain_objects_from_the_shims_decode() {
    let dial = JSON::parse(
        r#"{"type":"Dial","number":"+14155550134","contact_id":"c-0001","contact_name":"Ada Lovelace","crm":"MPT-CRM","origin":"http://127.0.0.1:1","via":"call_button"}"#,
    )
    .unwrap();
    let m: ContentToBackground = serde_wasm_bindgen::from_value(dial).unwrap();
    assert_eq!(
        m,
        ContentToBackground::Dial {
            number: mpt_core::phone::E164::parse("+14155550134").unwrap(),
            contact_id: Some("c-0001".into()),
            contact_name: Some("Ada Lovelace".into()),
            crm: Some("MPT-CRM".into()),
            origin: "http://127.0.0.1:1".into(),
            via: mpt_core::msg::DialVia::CallButton,
        }
    );
    // A number that is not E.164 does not decode (typed edge).
    let bad = JSON::parse(r#"{"type":"Dial","number":"415 555 0134","origin":"http://127.0.0.1:1","via":"call_button"}"#).unwrap();
    assert!(serde_wasm_bindgen::from_value::<ContentToBackground>(bad).is_err());
    // The Voice driver sends `call_sid: undefined` when the SDK has none yet, and
    // `code: undefined` for an error without one.
    let ev = JSON::parse(r#"{"type":"Voice","event":{"type":"ringing"}}"#).unwrap();
    Reflect::set(&get(&ev, "event"), &"call_sid".into(), &JsValue::UNDEFINED).unwrap();
    let m: OffscreenToBackground = serde_wasm_bindgen::from_value(ev).unwrap();
    assert_eq!(m, OffscreenToBackground::Voice { event: VoiceEvent::Ringing { call_sid: None } });
    let ev = JSON::parse(r#"{"type":"Voice","event":{"type":"error","message":"gone"}}"#).unwrap();
    Reflect::set(&get(&ev, "event"), &"code".into(), &JsValue::UNDEFINED).unwrap();
    let m: OffscreenToBackground = serde_wasm_bindgen::from_value(ev).unwrap();
    assert_eq!(m, OffscreenToBackground::Voice { event: VoiceEvent::Error { code: None, message: "gone".into() } });
    let bad = JSON::parse(r#"{"type":"SignOut"}"#).unwrap();
    assert!(serde_wasm_bindgen::from_value::<ContentToBackground>(bad).is_err());
}

#[wasm_bindgen_test]
fn the_popup_gets_the_view_it_decodes_by_hand_and_sends_commands_the_engine_reads() {
    use mpt_core::engine::{PhoneCommand, PhoneView};
    use mpt_core::msg::{BackgroundToPopup, PopupToBackground};
    let v = message(&BackgroundToPopup::View { view: Box::default(), server_url: "http://127.0.0.1:1".into(), offer: None }).unwrap();
    // The popup reads `type`, then `view` straight into PhoneView (ui/src/bridge.rs).
    assert!(get(&v, "offer").is_undefined(), "no offer field for the popup to skip");
    assert_eq!(get(&v, "type").as_string().as_deref(), Some("View"));
    assert_eq!(get(&v, "server_url").as_string().as_deref(), Some("http://127.0.0.1:1"));
    let view: PhoneView = serde_wasm_bindgen::from_value(get(&v, "view")).unwrap();
    assert_eq!(view, PhoneView::default());
    let cmd = JSON::parse(r#"{"type":"Command","command":{"type":"dial","number":"(415) 555-0134"}}"#).unwrap();
    let m: PopupToBackground = serde_wasm_bindgen::from_value(cmd).unwrap();
    assert_eq!(m, PopupToBackground::Command { command: PhoneCommand::Dial { number: "(415) 555-0134".into(), contact: None } });
}

#[wasm_bindgen_test]
fn the_panel_gets_its_offer_and_sends_only_panel_messages() {
    use mpt_core::engine::{DialContact, Proposal};
    use mpt_core::msg::{BackgroundToPopup, PanelToBackground};
    let offer = Proposal {
        number: "+14155550187".into(),
        number_display: "(415) 555-0187".into(),
        contact: DialContact { name: Some("Grace Hopper".into()), ..DialContact::default() },
        origin: "http://127.0.0.1:1".into(),
    };
    let v = message(&BackgroundToPopup::View { view: Box::default(), server_url: String::new(), offer: Some(offer.clone()) }).unwrap();
    let back: Option<Proposal> = serde_wasm_bindgen::from_value(get(&v, "offer")).unwrap();
    assert_eq!(back, Some(offer));
    let m: PanelToBackground = serde_wasm_bindgen::from_value(JSON::parse(r#"{"type":"DismissOffer"}"#).unwrap()).unwrap();
    assert_eq!(m, PanelToBackground::DismissOffer);
    // Popup requests are not panel messages.
    assert!(serde_wasm_bindgen::from_value::<PanelToBackground>(JSON::parse(r#"{"type":"GetView"}"#).unwrap()).is_err());
}

#[wasm_bindgen_test]
fn reach_messages_are_the_plain_objects_the_popup_and_content_script_read() {
    use mpt_core::msg::{BackgroundToPopup, SiteAccess, SiteView};
    // The popup's site control reads these fields by hand (popup/src/site.rs).
    let site = SiteView { site: "http://127.0.0.2".into(), pattern: "http://127.0.0.2/*".into(), access: SiteAccess::Disabled };
    let v = message(&BackgroundToPopup::Site { site: Some(site) }).unwrap();
    assert_eq!(get(&v, "type").as_string().as_deref(), Some("Site"));
    let s = get(&v, "site");
    assert_eq!(get(&s, "site").as_string().as_deref(), Some("http://127.0.0.2"));
    assert_eq!(get(&s, "pattern").as_string().as_deref(), Some("http://127.0.0.2/*"));
    assert_eq!(get(&s, "access").as_string().as_deref(), Some("disabled"));
    // No web page: `site` is null, and the control stays hidden.
    let v = message(&BackgroundToPopup::Site { site: None }).unwrap();
    assert!(get(&v, "site").is_null());
    // runtime.js compares `site` with its own location.
    let v = message(&BackgroundToContent::Unmark { site: "http://127.0.0.2".into() }).unwrap();
    assert_eq!(JSON::stringify(&v).unwrap().as_string().unwrap(), r#"{"type":"Unmark","site":"http://127.0.0.2"}"#);
}
