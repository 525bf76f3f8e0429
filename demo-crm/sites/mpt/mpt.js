// MPT-CRM client code: paging and stage tabs without reloads (History API + fetch),
// and the quick-edit form on contact pages.
(() => {
  'use strict';

  const table = document.querySelector('table#contacts');
  const pager = document.querySelector('.pager');
  if (table && pager) initList(table, pager);
  const form = document.querySelector('form.inline-edit');
  if (form) initEdit(form);

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    for (const c of children || []) node.append(c);
    return node;
  }

  // The same markup the server writes for a row.
  function rowNode(r) {
    return el('tr', { 'data-contact-id': r.id }, [
      el('td', { class: 'name' }, [el('a', { href: '/contacts/' + r.id }, [r.name])]),
      el('td', {}, [r.company]),
      el('td', {}, [el('a', { class: 'tel', href: 'tel:' + r.phone_e164 }, [r.phone_text])]),
      el('td', {}, [r.mobile_text]),
      el('td', {}, [el('span', { class: 'badge stage-' + r.stage.toLowerCase() }, [r.stage])]),
      el('td', {}, [r.last_contact]),
      el('td', { class: 'num' }, [r.deal_value]),
      el('td', { class: 'deal' }, [r.deal_id]),
    ]);
  }

  function initList(table, pager) {
    const tbody = table.tBodies[0];
    const more = pager.querySelector('button.load-more');
    const shownLabel = pager.querySelector('.shown');
    const tabs = Array.from(document.querySelectorAll('nav.tabs a'));
    let state = stateOf(location);
    let busy = false;

    function stateOf(loc) {
      const p = new URLSearchParams(loc.search);
      return { stage: p.get('stage') || '', page: Math.max(1, parseInt(p.get('page') || '1', 10) || 1) };
    }
    function urlOf(s) {
      const p = new URLSearchParams();
      if (s.stage) p.set('stage', s.stage);
      if (s.page > 1) p.set('page', String(s.page));
      const q = p.toString();
      return '/contacts' + (q ? '?' + q : '');
    }
    async function fetchPage(stage, page) {
      const p = new URLSearchParams({ page: String(page) });
      if (stage) p.set('stage', stage);
      const res = await fetch('/contacts.json?' + p.toString(), { headers: { Accept: 'application/json' } });
      if (!res.ok) throw new Error('contacts.json: HTTP ' + res.status);
      return res.json();
    }
    function showFooter(last) {
      shownLabel.textContent = 'Showing ' + last.shown + ' of ' + last.total;
      more.hidden = !last.has_more;
      more.dataset.nextPage = String(last.page + 1);
    }
    function markTabs() {
      for (const a of tabs) a.classList.toggle('active', (a.dataset.stage || '') === state.stage);
    }
    // Loads pages 1..s.page of s.stage and replaces the rows (tabs, back/forward).
    async function show(s) {
      const rows = [];
      let last = null;
      for (let page = 1; page <= s.page; page++) {
        last = await fetchPage(s.stage, page);
        rows.push(...last.rows.map(rowNode));
        if (!last.has_more) break;
      }
      tbody.replaceChildren(...rows);
      state = s;
      markTabs();
      if (last) showFooter(last);
    }
    async function guarded(fn) {
      if (busy) return;
      busy = true;
      more.disabled = true;
      try { await fn(); } catch (e) { console.warn('MPT-CRM:', e.message); } finally { busy = false; more.disabled = false; }
    }

    more.addEventListener('click', () => guarded(async () => {
      const next = { stage: state.stage, page: state.page + 1 };
      const data = await fetchPage(next.stage, next.page);
      tbody.append(...data.rows.map(rowNode));
      state = next;
      history.pushState(next, '', urlOf(next));
      showFooter(data);
    }));
    for (const a of tabs) {
      a.addEventListener('click', (ev) => {
        if (ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.button !== 0) return;
        ev.preventDefault();
        const next = { stage: a.dataset.stage || '', page: 1 };
        guarded(async () => { await show(next); history.pushState(next, '', urlOf(next)); });
      });
    }
    window.addEventListener('popstate', () => guarded(() => show(stateOf(location))));
  }

  function initEdit(form) {
    const saved = form.querySelector('.saved');
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const bad = Array.from(form.querySelectorAll('input[type=tel]'))
        .filter((i) => i.value.replace(/\D/g, '').length < 10);
      for (const i of form.querySelectorAll('input[type=tel]')) i.setAttribute('aria-invalid', String(bad.includes(i)));
      saved.textContent = bad.length ? 'Check the phone numbers' : 'Saved';
      saved.hidden = false;
    });
  }
})();
