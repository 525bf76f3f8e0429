// AMS-APP-CRM renewals: a framework-style view. The rows are rebuilt from state
// every 500 ms (new nodes, equal content, as a keyed list without stable keys
// does) and re-sorted when a header is clicked.
(() => {
  'use strict';
  const table = document.querySelector('table#renewals');
  if (!table) return;
  const tbody = table.tBodies[0];
  const state = { rows: [], key: 'expires_iso', dir: 1 };

  function cell(text, cls) {
    const td = document.createElement('td');
    if (cls) td.className = cls;
    td.textContent = text;
    return td;
  }
  function rowNode(r) {
    const tr = document.createElement('tr');
    tr.dataset.contactId = r.contact_id;
    tr.dataset.policyId = r.policy_id;
    const a = document.createElement('a');
    a.href = '/policies/' + r.policy_id;
    a.textContent = r.policy_number;
    const pol = document.createElement('td');
    pol.append(a);
    const tel = document.createElement('a');
    tel.className = 'tel';
    tel.href = 'tel:' + r.phone_e164;
    tel.textContent = r.phone_text;
    const phone = document.createElement('td');
    phone.append(tel);
    tr.append(cell(r.client), pol, cell(r.line), cell(r.expires), cell(r.premium, 'num'), phone, cell(r.agent));
    return tr;
  }
  function sorted() {
    const { key, dir } = state;
    return state.rows.slice().sort((a, b) => {
      const x = a[key], y = b[key];
      const c = typeof x === 'number' ? x - y : String(x).localeCompare(String(y));
      return c !== 0 ? c * dir : a.policy_id.localeCompare(b.policy_id);
    });
  }
  function render() {
    tbody.replaceChildren(...sorted().map(rowNode));
    for (const th of table.tHead.rows[0].cells) {
      if (th.dataset.sort === state.key) th.setAttribute('aria-sort', state.dir > 0 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    }
  }
  table.tHead.addEventListener('click', (ev) => {
    const th = ev.target.closest('th[data-sort]');
    if (!th) return;
    state.dir = state.key === th.dataset.sort ? -state.dir : 1;
    state.key = th.dataset.sort;
    render();
  });
  fetch('/renewals.json', { headers: { Accept: 'application/json' } })
    .then((res) => { if (!res.ok) throw new Error('renewals.json: HTTP ' + res.status); return res.json(); })
    .then((rows) => { state.rows = rows; render(); setInterval(render, 500); })
    .catch((e) => { tbody.replaceChildren(); console.warn('AMS-APP-CRM:', e.message); });
})();
