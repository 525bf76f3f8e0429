//! The tenant's admin (role admin; the server checks and audits every action): agents
//! (invite with a first password, disable, enable), API keys and publishable widget keys
//! (create — the secret shown once —, revoke, last used), allowed origins, Twilio
//! credentials with a verify, caller IDs and countries, dispositions, billing (Stripe's
//! pages), SSO, CRM connectors with a test, and the audit log.

use leptos::prelude::*;
use leptos_router::components::A;
use serde_json::{json, Value};

use super::{act, error_line, load, status_line, Draft, Loaded};
use crate::{api, fmt};

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_string()
}

fn when(v: &Value, k: &str) -> String {
    v[k].as_i64().map(fmt::time).unwrap_or_else(|| "never".into())
}

#[component]
pub fn Admin() -> impl IntoView {
    view! {
        <h1>"Admin"</h1>
        <ul class="links">
            <li><A href="/admin/agents">"Agents"</A>" — invite, disable, roles"</li>
            <li><A href="/admin/keys">"API keys and widget keys"</A></li>
            <li><A href="/admin/origins">"Allowed origins"</A>" — CRM sites that may dial at once and embed the phone"</li>
            <li><A href="/admin/telephony">"Twilio, caller IDs and countries"</A></li>
            <li><A href="/admin/tenant">"Dispositions"</A></li>
            <li><A href="/admin/billing">"Billing"</A></li>
            <li><A href="/admin/sso">"Single sign-on"</A></li>
            <li><A href="/admin/connectors">"CRM connectors"</A></li>
            <li><A href="/admin/audit">"Audit log"</A></li>
        </ul>
    }
}

#[component]
pub fn Agents() -> impl IntoView {
    let list: Loaded<Vec<Value>> = RwSignal::new(None);
    let status = RwSignal::new(None::<String>);
    let reload = move || load(list, api::get::<Vec<Value>>("/api/admin/agents"));
    reload();
    let (name, email, password, role) =
        (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new("agent".to_string()));
    let invite = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = json!({"name": name.get_untracked(), "email": email.get_untracked(), "password": password.get_untracked(), "role": role.get_untracked()});
        act(
            status,
            "Agent invited: give them their email and first password.",
            async move { api::json("POST", "/api/admin/agents", &body).await.map(|_| ()) },
            move || {
                name.set(String::new());
                email.set(String::new());
                password.set(String::new());
                reload();
            },
        );
    };
    let toggle = move |id: String, disable: bool| {
        let path =
            format!("/api/admin/agents/{}/{}", String::from(js_sys::encode_uri_component(&id)), if disable { "disable" } else { "enable" });
        act(
            status,
            if disable { "Agent disabled: their sessions have ended." } else { "Agent enabled." },
            async move { api::call("POST", &path).await },
            reload,
        );
    };
    let set_role = move |id: String, role: String| {
        let path = format!("/api/admin/agents/{}/role", String::from(js_sys::encode_uri_component(&id)));
        act(
            status,
            "Role changed: the agent signs in again to use it.",
            async move { api::json("PUT", &path, &json!({ "role": role })).await.map(|_| ()) },
            reload,
        );
    };
    view! {
        <h1>"Agents"</h1>
        {status_line(status)}
        {move || match list.get() {
            None => view! { <p aria-busy="true">"Loading…"</p> }.into_any(),
            Some(Err(e)) => error_line(&e).into_any(),
            Some(Ok(agents)) => view! {
                <div class="table-wrap"><table data-testid="agents-table">
                    <thead><tr><th scope="col">"Name"</th><th scope="col">"Email"</th><th scope="col">"Role"</th><th scope="col">"State"</th><th scope="col"><span class="sr-only">"Actions"</span></th></tr></thead>
                    <tbody>{agents.into_iter().map(|a| {
                        let disabled = a["disabled"].as_bool().unwrap_or(false);
                        let id = s(&a, "id");
                        let label = format!("{} {}", if disabled { "Enable" } else { "Disable" }, s(&a, "name"));
                        view! {
                            <tr data-testid="agent-row" data-email=s(&a, "email") data-disabled=disabled.to_string()>
                                <td>{s(&a, "name")}</td><td>{s(&a, "email")}</td>
                                <td>{
                                    let (id_role, role) = (s(&a, "id"), s(&a, "role"));
                                    view! {
                                        <select data-testid="agent-role" aria-label=format!("Role of {}", s(&a, "name"))
                                            on:change=move |ev| set_role(id_role.clone(), event_target_value(&ev))>
                                            {["agent", "supervisor", "admin"].into_iter().map(|r| view! { <option value=r selected=r == role>{r}</option> }).collect_view()}
                                        </select>
                                    }
                                }</td>
                                <td>{if disabled { "Disabled" } else { "Active" }}</td>
                                <td><button type="button" data-testid="agent-toggle" aria-label=label on:click=move |_| toggle(id.clone(), !disabled)>
                                    {if disabled { "Enable" } else { "Disable" }}</button></td>
                            </tr>
                        }
                    }).collect_view()}</tbody>
                </table></div>
            }.into_any(),
        }}
        <h2>"Invite an agent"</h2>
        <form class="stack" data-testid="invite-form" on:submit=invite>
            <label>"Name"<input type="text" required data-testid="invite-name" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/></label>
            <label>"Email"<input type="email" required autocomplete="off" data-testid="invite-email" prop:value=move || email.get() on:input=move |ev| email.set(event_target_value(&ev))/></label>
            <label>"First password (at least 12 characters)"<input type="password" required minlength="12" autocomplete="new-password" data-testid="invite-password" prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/></label>
            <label>"Role"
                <select data-testid="invite-role" on:change=move |ev| role.set(event_target_value(&ev))>
                    <option value="agent">"Agent"</option>
                    <option value="supervisor">"Supervisor"</option>
                    <option value="admin">"Admin"</option>
                </select>
            </label>
            <button type="submit" data-testid="invite-submit">"Invite"</button>
        </form>
    }
}

/// A secret shown once after creation.
fn secret_line(secret: RwSignal<Option<String>>, testid: &'static str) -> impl IntoView {
    move || {
        secret.get().map(|k| {
            view! {
                <p class="secret" role="status">"Copy it now, it is shown once: "<code data-testid=testid>{k}</code></p>
            }
        })
    }
}

#[component]
pub fn Keys() -> impl IntoView {
    let status = RwSignal::new(None::<String>);
    let api_keys: Loaded<Vec<Value>> = RwSignal::new(None);
    let widget_keys: Loaded<Vec<Value>> = RwSignal::new(None);
    let reload = move || {
        load(api_keys, api::get::<Vec<Value>>("/api/admin/api-keys"));
        load(widget_keys, api::get::<Vec<Value>>("/api/admin/widget-keys"));
    };
    reload();
    let (api_name, widget_name) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let (api_secret, widget_secret) = (RwSignal::new(None::<String>), RwSignal::new(None::<String>));
    let api_role = RwSignal::new("supervisor".to_string());
    let create = move |kind: &'static str, name: RwSignal<String>, secret: RwSignal<Option<String>>| {
        let body = if kind == "api-keys" {
            json!({"name": name.get_untracked(), "role": api_role.get_untracked()})
        } else {
            json!({"name": name.get_untracked()})
        };
        wasm_bindgen_futures::spawn_local(async move {
            match api::json("POST", &format!("/api/admin/{kind}"), &body).await {
                Ok(v) => {
                    secret.set(v["key"].as_str().map(str::to_string));
                    name.set(String::new());
                    status.set(Some("Key created.".into()));
                    reload();
                }
                Err(e) => status.set(Some(e.to_string())),
            }
        });
    };
    let revoke = move |kind: &'static str, id: String| {
        let path = format!("/api/admin/{kind}/{}", String::from(js_sys::encode_uri_component(&id)));
        act(status, "Key revoked.", async move { api::call("DELETE", &path).await }, reload);
    };
    let table = move |kind: &'static str, rows: Loaded<Vec<Value>>, testid: &'static str| {
        move || {
            match rows.get() {
            None => view! { <p aria-busy="true">"Loading…"</p> }.into_any(),
            Some(Err(e)) => error_line(&e).into_any(),
            Some(Ok(keys)) => view! {
                <div class="table-wrap"><table data-testid=testid>
                    <thead><tr><th scope="col">"Name"</th><th scope="col">"Key"</th><th scope="col">"Created"</th><th scope="col">"Last used"</th><th scope="col">"State"</th><th scope="col"><span class="sr-only">"Actions"</span></th></tr></thead>
                    <tbody>{keys.into_iter().map(|k| {
                        let revoked = !k["revoked_at"].is_null();
                        let id = s(&k, "id");
                        view! {
                            <tr data-testid="key-row" data-name=s(&k, "name") data-revoked=revoked.to_string()>
                                <td>{s(&k, "name")}</td><td><code>{s(&k, "prefix")}"…"</code></td><td>{when(&k, "created_at")}</td>
                                <td data-testid="key-last-used">{if k.get("last_used_at").is_some() { when(&k, "last_used_at") } else { "–".into() }}</td>
                                <td>{if revoked { "Revoked" } else { "Active" }}</td>
                                <td>{(!revoked).then(|| view! {
                                    <button type="button" data-testid="key-revoke" aria-label=format!("Revoke {}", s(&k, "name")) on:click=move |_| revoke(kind, id.clone())>"Revoke"</button>
                                })}</td>
                            </tr>
                        }
                    }).collect_view()}</tbody>
                </table></div>
            }.into_any(),
        }
        }
    };
    view! {
        <h1>"Keys"</h1>
        {status_line(status)}
        <h2>"Widget keys (publishable)"</h2>
        <p class="muted">"Pages on your allowed origins embed the phone with one of these (docs/embed.md)."</p>
        {table("widget-keys", widget_keys, "widget-keys-table")}
        <form class="row" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); create("widget-keys", widget_name, widget_secret); }>
            <label>"Name "<input type="text" required data-testid="widget-key-name" prop:value=move || widget_name.get() on:input=move |ev| widget_name.set(event_target_value(&ev))/></label>
            <button type="submit" data-testid="widget-key-create">"Create widget key"</button>
        </form>
        {secret_line(widget_secret, "widget-key-secret")}
        <h2>"API keys (CRM backends)"</h2>
        {table("api-keys", api_keys, "api-keys-table")}
        <form class="row" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); create("api-keys", api_name, api_secret); }>
            <label>"Name "<input type="text" required data-testid="api-key-name" prop:value=move || api_name.get() on:input=move |ev| api_name.set(event_target_value(&ev))/></label>
            <label>"Role "
                <select data-testid="api-key-role" on:change=move |ev| api_role.set(event_target_value(&ev))>
                    <option value="supervisor">"Supervisor (reads every call)"</option>
                    <option value="admin">"Admin"</option>
                </select>
            </label>
            <button type="submit" data-testid="api-key-create">"Create API key"</button>
        </form>
        {secret_line(api_secret, "api-key-secret")}
    }
}

/// Replaces the tenant's list of strings at `path` (allowed origins, dispositions).
fn put_list(path: &'static str, list: Vec<String>, status: RwSignal<Option<String>>, then: impl FnOnce() + 'static) {
    act(status, "Saved.", async move { api::json("PUT", path, &list).await.map(|_| ()) }, then);
}

#[component]
pub fn Origins() -> impl IntoView {
    let status = RwSignal::new(None::<String>);
    let list: Loaded<Vec<String>> = RwSignal::new(None);
    let reload = move || load(list, api::get::<Vec<String>>("/api/admin/allowed-origins"));
    reload();
    let draft = RwSignal::new(String::new());
    let current = move || list.with_untracked(|l| l.as_ref().and_then(|r| r.as_ref().ok()).cloned().unwrap_or_default());
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut l = current();
        let o = draft.get_untracked().trim().to_string();
        if o.is_empty() || l.contains(&o) {
            return;
        }
        l.push(o);
        put_list("/api/admin/allowed-origins", l, status, move || {
            draft.set(String::new());
            reload();
        });
    };
    let remove = move |o: String| {
        let l: Vec<String> = current().into_iter().filter(|x| *x != o).collect();
        put_list("/api/admin/allowed-origins", l, status, reload);
    };
    view! {
        <h1>"Allowed origins"</h1>
        <p class="muted">"Pages on these origins may place calls at once (the extension's page API, their tel: links) and embed the phone with a widget key. Patterns: https://crm.example.com, http://localhost:*."</p>
        {status_line(status)}
        {move || match list.get() {
            None => view! { <p aria-busy="true">"Loading…"</p> }.into_any(),
            Some(Err(e)) => error_line(&e).into_any(),
            Some(Ok(l)) => view! {
                <ul class="list" data-testid="origins-list">{l.into_iter().map(|o| {
                    let o2 = o.clone();
                    view! { <li data-testid="origin" data-origin=o.clone()><code>{o.clone()}</code>
                        <button type="button" aria-label=format!("Remove {o}") on:click=move |_| remove(o2.clone())>"Remove"</button></li> }
                }).collect_view()}</ul>
            }.into_any(),
        }}
        <form class="row" on:submit=add>
            <label>"Origin "<input type="text" required placeholder="https://crm.example.com" data-testid="origin-input" prop:value=move || draft.get() on:input=move |ev| draft.set(event_target_value(&ev))/></label>
            <button type="submit" data-testid="origin-add">"Add origin"</button>
        </form>
    }
}

#[component]
pub fn TenantSettings() -> impl IntoView {
    let status = RwSignal::new(None::<String>);
    let text = Draft::<String>::new();
    wasm_bindgen_futures::spawn_local(async move {
        match api::get::<mpt_core::api::ClientConfig>("/api/config").await {
            // What the admin types before the list arrives is kept.
            Ok(c) => text.load(c.dispositions.join("\n")),
            Err(e) => status.set(Some(e.to_string())),
        }
    });
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let list: Vec<String> = text.get_untracked().lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect();
        put_list("/api/admin/dispositions", list, status, || {});
    };
    view! {
        <h1>"Dispositions"</h1>
        <p class="muted">"One per line; agents choose one after each call. An empty list restores the phone's defaults."</p>
        <form class="stack" on:submit=save>
            <label>"Dispositions"<textarea rows="8" data-testid="dispositions" prop:value=move || text.get() on:input=move |ev| text.edit(event_target_value(&ev))></textarea></label>
            <button type="submit">"Save"</button>
        </form>
        {status_line(status)}
    }
}

#[component]
pub fn Audit() -> impl IntoView {
    let list: Loaded<Vec<Value>> = RwSignal::new(None);
    load(list, api::get::<Vec<Value>>("/api/admin/audit"));
    view! {
        <h1>"Audit log"</h1>
        {move || match list.get() {
            None => view! { <p aria-busy="true">"Loading…"</p> }.into_any(),
            Some(Err(e)) => error_line(&e).into_any(),
            Some(Ok(rows)) => view! {
                <div class="table-wrap"><table data-testid="audit-table">
                    <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"Action"</th><th scope="col">"Target"</th></tr></thead>
                    <tbody>{rows.into_iter().map(|r| view! {
                        <tr><td>{when(&r, "at")}</td><td>{s(&r, "actor")}</td><td>{s(&r, "action")}</td><td>{s(&r, "target")}</td></tr>
                    }).collect_view()}</tbody>
                </table></div>
            }.into_any(),
        }}
    }
}

fn lines(text: &str) -> Vec<String> {
    text.split([',', '\n']).map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect()
}

#[component]
pub fn Telephony() -> impl IntoView {
    let status = RwSignal::new(None::<String>);
    let current: Loaded<Value> = RwSignal::new(None);
    let verified = RwSignal::new(None::<Value>);
    let reload = move || load(current, api::get::<Value>("/api/admin/twilio"));
    reload();
    let fields = ["account_sid", "auth_token", "api_key_sid", "api_key_secret", "twiml_app_sid"].map(|f| (f, Draft::<String>::new()));
    let (caller_ids, countries) = (Draft::<String>::new(), Draft::<String>::new());
    // Three forms on one page: each save reloads, and a reload fills only the fields that
    // hold no unsaved edit (`Draft`).
    Effect::new(move |_| {
        if let Some(Ok(v)) = current.get() {
            let list =
                |k: &str| v[k].as_array().map(|a| a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join("\n")).unwrap_or_default();
            caller_ids.load(list("caller_ids"));
            countries.load(list("allowed_countries"));
            for (f, draft) in fields {
                if !f.ends_with("token") && !f.ends_with("secret") {
                    draft.load(s(&v, f));
                }
            }
        }
    });
    let save_creds = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let sent = fields.map(|(f, draft)| (f, draft.get_untracked()));
        let body: serde_json::Map<String, Value> = sent.iter().map(|(f, v)| (f.to_string(), Value::String(v.clone()))).collect();
        act(
            status,
            "Credentials saved (stored encrypted).",
            async move { api::json("PUT", "/api/admin/twilio", &body).await.map(|_| ()) },
            move || {
                for ((f, draft), (_, v)) in fields.into_iter().zip(sent) {
                    if f.ends_with("token") || f.ends_with("secret") {
                        draft.clear();
                    } else {
                        draft.saved(&v);
                    }
                }
                reload();
            },
        );
    };
    let verify = move |_| {
        verified.set(None);
        status.set(Some("Asking Twilio…".into()));
        wasm_bindgen_futures::spawn_local(async move {
            match api::json("POST", "/api/admin/twilio/verify", &json!({})).await {
                Ok(v) => {
                    status.set(Some(
                        if v["ok"] == true { "Twilio accepted the credentials." } else { "The Twilio account is not active." }.into(),
                    ));
                    verified.set(Some(v));
                }
                Err(e) => status.set(Some(e.to_string())),
            }
        });
    };
    // Caller IDs and countries: a list each, saved on its own; the reload then shows it as
    // the server keeps it (and leaves the other's draft alone).
    let save_list = move |draft: Draft<String>, path: &'static str, done: &'static str| {
        let sent = draft.get_untracked();
        let list = lines(&sent);
        act(status, done, async move { api::json("PUT", path, &list).await.map(|_| ()) }, move || {
            draft.saved(&sent);
            reload();
        });
    };
    let save_ids = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save_list(caller_ids, "/api/admin/caller-ids", "Caller IDs saved.");
    };
    let save_countries = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save_list(countries, "/api/admin/allowed-countries", "Countries saved.");
    };
    let labels = [
        ("Account SID (AC…)", "text"),
        ("Auth token", "password"),
        ("API key SID (SK…)", "text"),
        ("API key secret", "password"),
        ("TwiML App SID (AP…)", "text"),
    ];
    view! {
        <h1>"Twilio, caller IDs and countries"</h1>
        {status_line(status)}
        {move || current.get().map(|r| match r {
            Err(e) => error_line(&e).into_any(),
            Ok(v) => view! {
                <p data-testid="telephony-mode">{if v["sandbox"] == true { "Sandbox calling: no Twilio account is set.".to_string() }
                    else { format!("Twilio account {} (auth token {}).", s(&v, "account_sid"), if v["auth_token_set"] == true { "set" } else { "missing" }) }}</p>
            }.into_any(),
        })}
        <h2>"Credentials"</h2>
        <form class="stack" on:submit=save_creds>
            {fields.into_iter().zip(labels).map(|((f, draft), (label, kind))| view! {
                <label>{label}<input type=kind autocomplete="off" required data-testid=format!("twilio-{f}")
                    prop:value=move || draft.get() on:input=move |ev| draft.edit(event_target_value(&ev))/></label>
            }).collect_view()}
            <button type="submit" data-testid="twilio-save">"Save credentials"</button>
        </form>
        <button type="button" data-testid="twilio-verify" on:click=verify>"Verify with Twilio"</button>
        {move || verified.get().map(|v| view! {
            <dl class="facts" data-testid="twilio-verified">
                <dt>"Account"</dt><dd>{format!("{} ({})", s(&v, "friendly_name"), s(&v, "account_status"))}</dd>
                <dt>"Numbers"</dt><dd>{v["numbers"].as_array().map(|a| a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(", ")).unwrap_or_default()}</dd>
                <dt>"Caller IDs it does not own"</dt><dd>{v["caller_ids_not_owned"].as_array().map(|a| a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(", ")).filter(|t| !t.is_empty()).unwrap_or_else(|| "none".into())}</dd>
            </dl>
        })}
        <h2>"Caller IDs"</h2>
        <form class="stack" on:submit=save_ids>
            <label>"One number per line (the first is the default)"<textarea rows="3" data-testid="caller-ids" prop:value=move || caller_ids.get() on:input=move |ev| caller_ids.edit(event_target_value(&ev))></textarea></label>
            <button type="submit">"Save caller IDs"</button>
        </form>
        <h2>"Countries agents may call"</h2>
        <form class="stack" on:submit=save_countries>
            <label>"Country codes (US, GB…), one per line or comma-separated; the first is the default region"<textarea rows="3" data-testid="countries" prop:value=move || countries.get() on:input=move |ev| countries.edit(event_target_value(&ev))></textarea></label>
            <button type="submit">"Save countries"</button>
        </form>
    }
}

/// Billing: the tenant's standing (what the server enforces on calls) and the way to fix it,
/// Stripe's own pages (Checkout to subscribe, the portal to manage): card data never
/// reaches us.
#[component]
pub fn Billing() -> impl IntoView {
    let status = RwSignal::new(None::<String>);
    let billing: Loaded<Value> = RwSignal::new(None);
    load(billing, api::get::<Value>("/api/admin/billing"));
    let seats = RwSignal::new("1".to_string());
    let go_to_stripe = move |path: &'static str, body: Value| {
        status.set(Some("Opening Stripe…".into()));
        wasm_bindgen_futures::spawn_local(async move {
            match api::json("POST", path, &body).await {
                Ok(v) => match (v["url"].as_str(), web_sys::window()) {
                    (Some(url), Some(w)) => {
                        let _ = w.location().assign(url);
                    }
                    _ => status.set(Some("Stripe gave no page to open.".into())),
                },
                Err(e) => status.set(Some(e.to_string())),
            }
        });
    };
    let here = move || web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default() + "/admin/billing";
    view! {
        <h1>"Billing"</h1>
        {status_line(status)}
        {move || billing.get().map(|r| match r {
            Err(e) => error_line(&e).into_any(),
            Ok(b) => {
                let linked = b["linked"] == true;
                view! {
                    <dl class="facts" data-testid="billing">
                        <dt>"Standing"</dt><dd data-testid="billing-standing">{s(&b, "standing")}</dd>
                        <dt>"Subscription"</dt><dd>{b["status"].as_str().unwrap_or("none").to_string()}</dd>
                        <dt>"Seats"</dt><dd>{format!("{} agents / {} seats", b["agents"].as_u64().unwrap_or(0), b["seats"].as_u64().map(|n| n.to_string()).unwrap_or_else(|| "–".into()))}</dd>
                        <dt>"Period ends"</dt><dd>{b["period_end"].as_i64().map(|t| fmt::time(t * 1000)).unwrap_or_else(|| "–".into())}</dd>
                        {b["grace_until"].as_i64().map(|t| view! { <dt>"Grace until"</dt><dd class="error">{fmt::time(t * 1000)}</dd> })}
                    </dl>
                    {if linked {
                        view! {
                            <button type="button" data-testid="billing-portal" on:click=move |_| go_to_stripe("/api/admin/billing/portal", json!({"return_url": here()}))>
                                "Manage billing (card, seats, invoices)"</button>
                        }.into_any()
                    } else {
                        view! {
                            <form class="row" on:submit=move |ev: leptos::ev::SubmitEvent| {
                                ev.prevent_default();
                                let n: u64 = seats.get_untracked().trim().parse().unwrap_or(1);
                                go_to_stripe("/api/admin/billing/checkout", json!({"seats": n, "success_url": here(), "cancel_url": here()}));
                            }>
                                <label>"Seats "<input type="number" min="1" max="1000" required prop:value=move || seats.get() on:input=move |ev| seats.set(event_target_value(&ev))/></label>
                                <button type="submit" data-testid="billing-checkout">"Subscribe"</button>
                            </form>
                        }.into_any()
                    }}
                }.into_any()
            }
        })}
    }
}

/// SSO: the CRM signs a JWT for its user (HS256 secret or RS256 key) that the server
/// exchanges for a session — in the app through the CRM's sign-in page (`login_url`: the
/// agents' "Continue with SSO", `sso.rs`), in an embedding CRM by the CRM itself. What is
/// set is shown without its secret; a save replaces everything (the secret too).
#[component]
pub fn Sso() -> impl IntoView {
    let status = RwSignal::new(None::<String>);
    let (issuer, audience, login_url) = (Draft::<String>::new(), Draft::<String>::new(), Draft::<String>::new());
    let (secret, pem) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let provision = Draft::<bool>::new();
    let current: Loaded<Value> = RwSignal::new(None);
    let reload = move || load(current, api::get::<Value>("/api/admin/sso"));
    reload();
    // The form starts from what is set (never the secret).
    Effect::new(move |_| {
        if let Some(Ok(c)) = current.get() {
            issuer.load(s(&c, "issuer"));
            audience.load(s(&c, "audience"));
            login_url.load(s(&c, "login_url"));
            provision.load(c["provision"].as_bool().unwrap_or(false));
        }
    });
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let opt = |s: String| Some(s.trim().to_string()).filter(|v| !v.is_empty());
        let sent = (issuer.get_untracked(), audience.get_untracked(), login_url.get_untracked(), provision.get_untracked());
        let body = json!({
            "sso": {"issuer": sent.0.trim(), "audience": sent.1.trim(), "hs256_secret": opt(secret.get_untracked()),
                    "rs256_public_pem": opt(pem.get_untracked()), "login_url": opt(sent.2.clone())},
            "provision": sent.3,
        });
        act(status, "SSO saved.", async move { api::json("PUT", "/api/admin/sso", &body).await.map(|_| ()) }, move || {
            secret.set(String::new());
            issuer.saved(&sent.0);
            audience.saved(&sent.1);
            login_url.saved(&sent.2);
            provision.saved(&sent.3);
            reload();
        });
    };
    let off = move |_| {
        act(status, "SSO turned off.", async move { api::json("PUT", "/api/admin/sso", &json!({"sso": null})).await.map(|_| ()) }, reload)
    };
    let origin = web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
    let tenant = move || {
        current.with(|c| match c {
            Some(Ok(c)) => s(c, "organisation"),
            _ => String::new(),
        })
    };
    view! {
        <h1>"Single sign-on"</h1>
        <p class="muted">"Your CRM signs a short JWT (iss, aud, sub, email, exp; name optional) for its signed-in user; MPT Phone exchanges it for a session (docs/server-api.md). Saved secrets are never shown: saving replaces them."</p>
        {status_line(status)}
        {move || current.get().map(|r| match r {
            Err(e) => error_line(&e).into_any(),
            Ok(c) if c["configured"].as_bool() == Some(true) => view! {
                <dl class="facts" data-testid="sso-current">
                    <dt>"Status"</dt><dd>{format!("On ({})", s(&c, "algorithm"))}</dd>
                    <dt>"Sign-in page"</dt><dd data-testid="sso-current-login-url">{Some(s(&c, "login_url")).filter(|u| !u.is_empty()).unwrap_or_else(|| "none (the CRM starts SSO)".into())}</dd>
                </dl>
            }.into_any(),
            Ok(_) => view! { <p data-testid="sso-current">"Single sign-on is off."</p> }.into_any(),
        })}
        <form class="stack" on:submit=save>
            <label>"Issuer (iss)"<input type="text" required data-testid="sso-issuer" prop:value=move || issuer.get() on:input=move |ev| issuer.edit(event_target_value(&ev))/></label>
            <label>"Audience (aud)"<input type="text" required data-testid="sso-audience" prop:value=move || audience.get() on:input=move |ev| audience.edit(event_target_value(&ev))/></label>
            <label>"HS256 shared secret"<input type="password" autocomplete="off" data-testid="sso-secret" prop:value=move || secret.get() on:input=move |ev| secret.set(event_target_value(&ev))/></label>
            <label>"or RS256 public key (PEM)"<textarea rows="4" prop:value=move || pem.get() on:input=move |ev| pem.set(event_target_value(&ev))></textarea></label>
            <label>"Sign-in page for the app's “Continue with SSO” (https)"
                <input type="url" data-testid="sso-login-url" aria-describedby="sso-login-hint" prop:value=move || login_url.get() on:input=move |ev| login_url.edit(event_target_value(&ev))/>
            </label>
            <p class="muted" id="sso-login-hint">{move || format!(
                "Agents who choose SSO are sent there with return_to={origin}/sso and a state; send them back to return_to#assertion=<JWT>&state=<the same state>, only if return_to is {origin}/sso (never another address). \
                 Agents sign in with your organisation ID, {org}, or follow {origin}/sso?tenant={org}.", org = tenant())}</p>
            <label class="check"><input type="checkbox" prop:checked=move || provision.get() on:change=move |ev| provision.edit(event_target_checked(&ev))/>" Create agents on their first SSO sign-in"</label>
            <button type="submit" data-testid="sso-save">"Save SSO"</button>
        </form>
        <button type="button" on:click=off>"Turn SSO off"</button>
    }
}

/// CRM connectors: the ones configured (never their auth header's value), a "test" that
/// looks a number up in each now, and replacing the list (JSON, `docs/server-api.md`).
#[component]
pub fn Connectors() -> impl IntoView {
    let status = RwSignal::new(None::<String>);
    let list: Loaded<Vec<Value>> = RwSignal::new(None);
    let reload = move || load(list, api::get::<Vec<Value>>("/api/admin/connectors"));
    reload();
    let number = RwSignal::new(String::new());
    let checks: Loaded<Vec<Value>> = RwSignal::new(None);
    let config = RwSignal::new(String::new());
    let test = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = json!({ "number": number.get_untracked() });
        checks.set(None);
        load(checks, async move {
            let v = api::json("POST", "/api/admin/connectors/test", &body).await?;
            Ok(v.as_array().cloned().unwrap_or_default())
        });
    };
    let replace = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match serde_json::from_str::<Value>(&config.get_untracked()) {
            Ok(v) => {
                act(status, "Connectors saved.", async move { api::json("PUT", "/api/admin/connectors", &v).await.map(|_| ()) }, reload)
            }
            Err(e) => status.set(Some(format!("Not JSON: {e}"))),
        }
    };
    view! {
        <h1>"CRM connectors"</h1>
        {status_line(status)}
        {move || list.get().map(|r| match r {
            Err(e) => error_line(&e).into_any(),
            Ok(l) if l.is_empty() => view! { <p>"No connector: caller ID uses the local contacts only."</p> }.into_any(),
            Ok(l) => view! {
                <ul class="list" data-testid="connectors">{l.into_iter().map(|c| view! {
                    <li><strong>{s(&c, "name")}</strong><code>{s(&c, "lookup_url")}</code></li>
                }).collect_view()}</ul>
            }.into_any(),
        })}
        <h2>"Test"</h2>
        <form class="row" on:submit=test>
            <label>"Look up a number "<input type="tel" required data-testid="connector-test-number" prop:value=move || number.get() on:input=move |ev| number.set(event_target_value(&ev))/></label>
            <button type="submit" data-testid="connector-test">"Test connectors"</button>
        </form>
        {move || checks.get().map(|r| match r {
            Err(e) => error_line(&e).into_any(),
            Ok(l) => view! {
                <ul class="list" data-testid="connector-checks">{l.into_iter().map(|c| {
                    let found = c["contacts"].as_array().map(|a| a.iter().map(|x| s(x, "name")).collect::<Vec<_>>().join(", ")).unwrap_or_default();
                    view! {
                        <li data-ok=c["ok"].as_bool().unwrap_or(false).to_string()>
                            <strong>{s(&c, "name")}</strong>
                            <span>{if c["ok"] == true { if found.is_empty() { "answered: no match".to_string() } else { format!("found {found}") } } else { format!("failed: {}", s(&c, "error")) }}</span>
                        </li>
                    }
                }).collect_view()}</ul>
            }.into_any(),
        })}
        <h2>"Replace the connectors"</h2>
        <form class="stack" on:submit=replace>
            <label>"Connectors as JSON (a list; see docs/server-api.md)"<textarea rows="8" prop:value=move || config.get() on:input=move |ev| config.set(event_target_value(&ev))></textarea></label>
            <button type="submit">"Save connectors"</button>
        </form>
    }
}
