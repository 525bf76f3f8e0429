//! Audio devices and the microphone level test.
//!
//! The chosen microphone and speaker are preferences (`audioInput`, `audioOutput` in
//! `chrome.storage.sync`). The level test opens the chosen microphone here (an extension
//! page can prompt for it, unlike the offscreen document) and shows its loudness from an
//! `AnalyserNode`, so the agent sees that the microphone works before a call.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AnalyserNode, AudioContext, MediaDeviceInfo, MediaDeviceKind, MediaStream, MediaStreamConstraints};

use crate::error::OptionsError;

/// `(deviceId, label)` of every device of `kind`.
pub async fn devices(kind: MediaDeviceKind) -> Result<Vec<(String, String)>, OptionsError> {
    let md = web_sys::window().ok_or(OptionsError::Browser("no window".into()))?.navigator().media_devices()?;
    let list = JsFuture::from(md.enumerate_devices()?).await?;
    Ok(js_sys::Array::from(&list)
        .iter()
        .filter_map(|d| d.dyn_into::<MediaDeviceInfo>().ok())
        .filter(|d| d.kind() == kind)
        .enumerate()
        .map(|(i, d)| {
            let label = if d.label().is_empty() { format!("Device {}", i + 1) } else { d.label() };
            (d.device_id(), label)
        })
        .collect())
}

/// The animation-frame callback, shared with itself so it can ask for the next frame.
type Frame = Rc<RefCell<Option<Closure<dyn FnMut()>>>>;

/// A running level test: the stream, its analyser and the animation loop's handle.
pub struct LevelTest {
    stream: MediaStream,
    ctx: AudioContext,
    /// Held for as long as the test runs: Chrome collects a source node nothing references,
    /// and the analyser then hears silence.
    _source: web_sys::MediaStreamAudioSourceNode,
    running: Rc<RefCell<bool>>,
}

impl LevelTest {
    /// Stops the microphone.
    pub fn stop(self) {
        *self.running.borrow_mut() = false;
        for t in self.stream.get_tracks().iter() {
            if let Ok(t) = t.dyn_into::<web_sys::MediaStreamTrack>() {
                t.stop();
            }
        }
        let _ = self.ctx.close();
    }
}

/// Opens microphone `device` (empty: the default) and writes its level (0–100) into
/// `level` on every animation frame until stopped.
pub async fn start_level_test(device: String, level: RwSignal<u32>) -> Result<LevelTest, OptionsError> {
    let window = web_sys::window().ok_or(OptionsError::Browser("no window".into()))?;
    let md = window.navigator().media_devices()?;
    let constraints = MediaStreamConstraints::new();
    let audio = if device.is_empty() {
        JsValue::TRUE
    } else {
        let o = js_sys::Object::new();
        let exact = js_sys::Object::new();
        js_sys::Reflect::set(&exact, &"exact".into(), &device.into())?;
        js_sys::Reflect::set(&o, &"deviceId".into(), &exact)?;
        o.into()
    };
    constraints.set_audio(&audio);
    let stream: MediaStream = JsFuture::from(md.get_user_media_with_constraints(&constraints)?).await?.dyn_into()?;
    let ctx = AudioContext::new()?;
    let source = ctx.create_media_stream_source(&stream)?;
    let analyser: AnalyserNode = ctx.create_analyser()?;
    analyser.set_fft_size(1024);
    source.connect_with_audio_node(&analyser)?;
    let running = Rc::new(RefCell::new(true));
    let buf = Rc::new(RefCell::new(vec![0u8; 1024]));
    let frame: Frame = Rc::new(RefCell::new(None));
    let again = frame.clone();
    let still = running.clone();
    *frame.borrow_mut() = Some(Closure::new(move || {
        if !*still.borrow() {
            again.borrow_mut().take();
            return;
        }
        let mut b = buf.borrow_mut();
        analyser.get_byte_time_domain_data(&mut b);
        // Peak deviation from silence (128), as a percentage.
        let peak = b.iter().map(|&s| (i32::from(s) - 128).unsigned_abs()).max().unwrap_or(0);
        level.set((peak * 100 / 128).min(100));
        if let (Some(w), Some(cb)) = (web_sys::window(), again.borrow().as_ref()) {
            let _ = w.request_animation_frame(cb.as_ref().unchecked_ref());
        }
    }));
    if let Some(cb) = frame.borrow().as_ref() {
        window.request_animation_frame(cb.as_ref().unchecked_ref())?;
    }
    Ok(LevelTest { stream, ctx, _source: source, running })
}
