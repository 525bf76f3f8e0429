// MPT Phone service worker (module). All chrome.* listeners are registered
// synchronously here, before anything is awaited, so an event that wakes the
// worker is never missed; each one is forwarded into Rust (mpt_background)
// once its wasm has initialised, queued until then.
import init, * as mpt from './mpt_background.js';

let ready = false;
const pending = [];

/** Runs fn now if the wasm is ready, else once it is. Returns a Promise of fn's result. */
function whenReady(fn) {
  if (ready) return Promise.resolve().then(fn);
  return new Promise((resolve, reject) => pending.push(() => Promise.resolve().then(fn).then(resolve, reject)));
}

chrome.runtime.onMessage.addListener((msg, sender, sendResponse) => {
  whenReady(() => mpt.on_message(msg, sender)).then(
    (reply) => sendResponse(reply),
    (err) => sendResponse({ type: 'Error', message: String((err && err.message) || err) }),
  );
  return true; // the response is sent asynchronously
});

let nextPortId = 1;
chrome.runtime.onConnect.addListener((port) => {
  const id = nextPortId++;
  // Listen on the port right away: messages may arrive before the wasm is ready.
  port.onMessage.addListener((msg) => { whenReady(() => mpt.on_port_message(id, msg)).catch(note); });
  port.onDisconnect.addListener(() => { whenReady(() => mpt.on_disconnect(id)).catch(note); });
  whenReady(() => { if (!mpt.on_connect(id, port)) port.disconnect(); }).catch(note);
});

chrome.runtime.onInstalled.addListener((details) => { whenReady(() => mpt.on_installed(details.reason)).catch(note); });
chrome.alarms.onAlarm.addListener((alarm) => { whenReady(() => mpt.on_alarm(alarm.name)).catch(note); });
// Sites the agent enables or disables (optional host permissions → registered content scripts).
chrome.permissions.onAdded.addListener((p) => { whenReady(() => mpt.on_permissions_added(p)).catch(note); });
chrome.permissions.onRemoved.addListener((p) => { whenReady(() => mpt.on_permissions_removed(p)).catch(note); });

/** "Call <selection>": the browser's click data, forwarded as is. */
function contextMenuClicked(info) {
  return whenReady(() => mpt.on_menu_click(String(info.menuItemId), String(info.selectionText || ''))).catch(note);
}
/** The keyboard shortcuts (manifest `commands`): the command and the tab it was pressed in. */
function commandReceived(name, tab) {
  return whenReady(() => mpt.on_command(String(name), tab && tab.id)).catch(note);
}
chrome.storage.onChanged.addListener((changes, area) => {
  whenReady(() => mpt.on_storage_changed(area, Object.keys(changes))).catch(note);
});
/** A button of the ringing call's notification (0 Answer, 1 Decline). */
function notificationButtonClicked(id, index) {
  return whenReady(() => mpt.on_notification_button(String(id), Number(index))).catch(note);
}
chrome.contextMenus.onClicked.addListener(contextMenuClicked);
chrome.commands.onCommand.addListener(commandReceived);
chrome.notifications.onButtonClicked.addListener(notificationButtonClicked);
chrome.notifications.onClicked.addListener((id) => { whenReady(() => mpt.on_notification_click(String(id))).catch(note); });
// An update waits until no call is up (the worker applies it with runtime.reload()).
function updateAvailable(details) {
  return whenReady(() => mpt.on_update_available(String(details.version))).catch(note);
}
chrome.runtime.onUpdateAvailable.addListener(updateAvailable);
// The end-to-end tests call these exactly as the browser does (menus, shortcuts and
// notification buttons are browser UI that the DevTools protocol cannot press); only extension contexts can reach
// the worker's global scope.
self.mptListeners = { contextMenuClicked, commandReceived, notificationButtonClicked, updateAvailable };

/** Failures of background work are expected states (offline server…), not errors. */
function note(err) { console.warn('MPT Phone:', String((err && err.message) || err)); }

/**
 * The engine's persisted state (the agent's session tokens among it) is in
 * chrome.storage.local, which by default content scripts can read too; they run in web
 * pages' renderers. Restrict it to the extension's own pages and this worker before
 * anything is stored.
 */
const lockStorage = Promise.resolve()
  .then(() => chrome.storage.local.setAccessLevel({ accessLevel: 'TRUSTED_CONTEXTS' }))
  .catch(note); // hostile-page.test.mjs fails if the lock is missing

/** Resolves once the worker handles messages (tests await `self.mptReady`). */
self.mptReady = lockStorage
  .then(() => init({ module_or_path: new URL('./mpt_background_bg.wasm', import.meta.url) }))
  .then((wasm) => { self.mptWasmBytes = () => wasm.memory.buffer.byteLength; }) // the memory bench reads it
  .then(() => mpt.start())
  .catch(note) // state could not be restored: start signed out
  .then(() => {
    ready = true;
    for (const run of pending.splice(0)) run();
    return true;
  });
