// The owner's console (/admin): the kept accounts, what to do with them, and
// their timeline. The admin token lives in sessionStorage only and goes out as
// `Authorization: Bearer` on every call: no cookie, so nothing for another
// site to ride on. The page shows no key unless the owner asks (reveal, copy).
(function () {
  'use strict';

  var TEXT = {
    zh: {
      tagline: '管理：保存的账号',
      home: '首页',
      apiDocs: '接口文档',
      signOut: '退出',
      offTitle: '管理页未开启',
      offHint: '服务器没有设置管理员令牌。设置环境变量 QMKEYS_ADMIN_TOKEN（或配置文件里的 admin_token）为一个足够长的随机字符串，重启服务器后再打开本页。',
      signinTitle: '输入管理员令牌',
      signinHint: '令牌只保存在本标签页（sessionStorage），关闭标签页即忘记；每次请求以 Authorization: Bearer 发送，不用 Cookie。',
      tokenLabel: '管理员令牌（admin_token）',
      signinButton: '进入',
      wrongToken: '管理员令牌不对，请重新输入。',
      accountsTitle: '保存的账号',
      reload: '刷新列表',
      accountsHint: '服务器替这些账号保持 key 有效。需要处理的账号排在前面。页面不显示 key，除非点击“显示”或“复制”。',
      colAccount: '账号', colHealth: '状态', colKey: 'key', colCheck: '上次检查', colRotation: '上次轮换',
      colNext: '下一步', colVip: '会员', colUploads: '签名次数', colActions: '操作',
      noAccounts: '还没有保存的账号：在下面扫码登录添加一个。',
      removeLogout: '同时在 QQ 音乐退出登录（key、refresh_key 和 refresh_token 全部失效）',
      removeConfirm: '删除', cancel: '取消',
      removeQuestion: '删除账号 {uin}？',
      addTitle: '添加账号',
      addHint: '扫码登录后，账号保存到服务器，由服务器保持有效。',
      reloginHint: '重新登录 {uin}：请用这个账号扫码，登录的是别的账号时不会保存。',
      addButton: '获取二维码',
      fastSummary: '用电脑 QQ 快速登录（client_uin + client_key）',
      fastButton: '登录并保存',
      timelineTitle: '最近的事件',
      noEvents: '还没有事件。',
      footer: 'qmkeys · 自己部署的 QQ 音乐 key 服务',
      kindQq: 'QQ', kindWx: '微信', kindApp: 'QQ音乐 app',
      stateOk: '正常', stateExpiring: '即将过期', stateFailing: '出错', stateDead: '已失效',
      created: '生成 {t}', expires: '过期 {t}', left: '剩余 {t}', expired: '已过期',
      days: '{n} 天', hours: '{n} 小时', minutes: '{n} 分钟',
      never: '从未',
      checkAlive: '有效', checkDead: '已失效',
      outcomeRefreshed: '已轮换', outcomeSaved: '已保存',
      nextCheck: '检查 {t}', nextRefresh: '轮换 {t}', nextNone: '等待重新登录',
      vip: '绿钻', svip: '豪华绿钻', vipUntil: '至 {t}', vipNone: '无', vipUnknown: '—',
      actCheck: '检查', actRefresh: '轮换', actCopyJson: '复制 JSON', actCopyHeader: '复制 Cookie 行',
      actReveal: '显示', actHide: '隐藏', actRemove: '删除', actRelogin: '重新登录',
      checkedAlive: '{uin}：key 有效（没有轮换）。', checkedDead: '{uin}：key 已失效。',
      refreshed: '{uin}：key 已轮换。', copied: '{uin}：已复制 {what}。',
      removed: '{uin}：已删除。', removedLoggedOut: '{uin}：已在 QQ 音乐退出登录并删除。',
      failed: '{message}', detail: 'HTTP {status} · 错误码 {code}',
      unreachable: '无法连接本服务器：{e}',
      qrStarting: '正在获取二维码…', qrWaiting: '等待扫码', qrScanned: '已扫码，请在手机上确认',
      qrExpired: '二维码已失效', qrRefused: '已在手机上拒绝登录', qrLost: '连接已断开',
      qrSaved: '登录成功，已保存 {uin}', qrFailed: '{message}（错误码 {code}）',
      fastSaved: '快速登录成功，已保存 {uin}',
      evAdded: '添加', evChecked: '检查', evRefreshed: '轮换', evFailing: '出错', evDead: '失效', evRemoved: '删除',
      keysTitle: '调用者密钥', keyName: '名称', keyLimit: '每分钟最多请求数', keyCreate: '创建密钥',
      keysOn: '服务器要求调用者密钥（require_api_key 已开启）：刷新、检查、签名和登录接口需要 X-Api-Key 请求头或 api_key 参数。',
      keysOff: '服务器没有要求调用者密钥（require_api_key 未开启）：这里创建的密钥在开启后才生效。',
      keySecretOnce: '密钥只显示这一次，请现在复制保存：', keyCopy: '复制密钥',
      colKeyName: '名称', colKeyLimit: '限额/分钟', colKeyUsed: '最后使用', noKeys: '还没有密钥。',
      keyCreated: '已创建密钥 {name}（{id}）。', keyRevoked: '已吊销密钥 {name}（{id}）。', keySecretCopied: '密钥已复制。',
      actRevoke: '吊销'
    },
    en: {
      tagline: 'Console: kept accounts',
      home: 'Home',
      apiDocs: 'API docs',
      signOut: 'Sign out',
      offTitle: 'The console is off',
      offHint: 'The server has no admin token. Set the environment variable QMKEYS_ADMIN_TOKEN (or admin_token in the config file) to a long random string, restart the server, then open this page again.',
      signinTitle: 'Admin token',
      signinHint: 'The token stays in this tab only (sessionStorage) and is forgotten when the tab closes; every call sends it as Authorization: Bearer, never as a cookie.',
      tokenLabel: 'Admin token (admin_token)',
      signinButton: 'Sign in',
      wrongToken: 'That is not the admin token. Try again.',
      accountsTitle: 'Kept accounts',
      reload: 'Reload',
      accountsHint: 'The server keeps these keys alive. Accounts that need attention come first. No key is shown unless you click reveal or copy.',
      colAccount: 'Account', colHealth: 'State', colKey: 'Key', colCheck: 'Last check', colRotation: 'Last rotation',
      colNext: 'Next', colVip: 'Membership', colUploads: 'Uploads signed', colActions: 'Actions',
      noAccounts: 'No kept accounts yet: add one with a QR login below.',
      removeLogout: 'Also log out at QQ Music (the key, refresh_key and refresh_token all stop working)',
      removeConfirm: 'Remove', cancel: 'Cancel',
      removeQuestion: 'Remove account {uin}?',
      addTitle: 'Add an account',
      addHint: 'After the QR login the account is saved on the server, which keeps it alive.',
      reloginHint: 'Log {uin} in again: scan with that account; a login of another account is not saved.',
      addButton: 'Get a QR code',
      fastSummary: 'Fast login with desktop QQ (client_uin + client_key)',
      fastButton: 'Log in and save',
      timelineTitle: 'Recent events',
      noEvents: 'No events yet.',
      footer: 'qmkeys · your own QQ Music key service',
      kindQq: 'QQ', kindWx: 'WeChat', kindApp: 'QQ Music app',
      stateOk: 'healthy', stateExpiring: 'expiring', stateFailing: 'failing', stateDead: 'dead',
      created: 'made {t}', expires: 'expires {t}', left: '{t} left', expired: 'expired',
      days: '{n} d', hours: '{n} h', minutes: '{n} min',
      never: 'never',
      checkAlive: 'alive', checkDead: 'dead',
      outcomeRefreshed: 'rotated', outcomeSaved: 'saved',
      nextCheck: 'check {t}', nextRefresh: 'rotate {t}', nextNone: 'waiting for a new login',
      vip: 'VIP', svip: 'SVIP', vipUntil: 'until {t}', vipNone: 'none', vipUnknown: '—',
      actCheck: 'Check', actRefresh: 'Rotate', actCopyJson: 'Copy JSON', actCopyHeader: 'Copy Cookie line',
      actReveal: 'Reveal', actHide: 'Hide', actRemove: 'Remove', actRelogin: 'Log in again',
      checkedAlive: '{uin}: the key is alive (not rotated).', checkedDead: '{uin}: the key is dead.',
      refreshed: '{uin}: the key was rotated.', copied: '{uin}: {what} copied.',
      removed: '{uin}: removed.', removedLoggedOut: '{uin}: logged out at QQ Music and removed.',
      failed: '{message}', detail: 'HTTP {status} · code {code}',
      unreachable: 'Cannot reach this server: {e}',
      qrStarting: 'Getting a QR code…', qrWaiting: 'Waiting for a scan', qrScanned: 'Scanned: confirm on the phone',
      qrExpired: 'The QR code expired', qrRefused: 'Refused on the phone', qrLost: 'Connection lost',
      qrSaved: 'Logged in; {uin} saved', qrFailed: '{message} (code {code})',
      fastSaved: 'Fast login done; {uin} saved',
      evAdded: 'added', evChecked: 'checked', evRefreshed: 'rotated', evFailing: 'failing', evDead: 'dead', evRemoved: 'removed',
      keysTitle: 'Caller keys', keyName: 'Name', keyLimit: 'Requests per minute', keyCreate: 'Create a key',
      keysOn: 'The server wants a caller key (require_api_key is on): the refresh, check, sign and login routes need an X-Api-Key header or an api_key parameter.',
      keysOff: 'The server does not ask for caller keys (require_api_key is off): keys made here count once it is on.',
      keySecretOnce: 'The key is shown only this once; copy it now:', keyCopy: 'Copy the key',
      colKeyName: 'Name', colKeyLimit: 'Per minute', colKeyUsed: 'Last used', noKeys: 'No keys yet.',
      keyCreated: 'Key {name} ({id}) created.', keyRevoked: 'Key {name} ({id}) revoked.', keySecretCopied: 'Key copied.',
      actRevoke: 'Revoke'
    }
  };

  var TOKEN_KEY = 'qmkeys-admin-token';
  var DAY = 86400;
  var lang = 'zh';
  try { lang = localStorage.getItem('qmkeys-lang') === 'en' ? 'en' : 'zh'; } catch (e) { /* private mode */ }
  var accounts = [], events = [], keys = [], kinds = [], kind = 'qq', login = null, relogin = null, removing = null;

  function t(key, params) {
    var text = TEXT[lang][key] || TEXT.zh[key] || key;
    return text.replace(/\{(\w+)\}/g, function (_, name) {
      return params && params[name] !== undefined ? String(params[name]) : '';
    });
  }

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === 'text') node.textContent = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  function now() { return Math.floor(Date.now() / 1000); }

  function formatUnix(secs) {
    // Beijing time, as the API writes its *Time fields.
    var d = new Date((secs + 8 * 3600) * 1000);
    function two(n) { return (n < 10 ? '0' : '') + n; }
    return d.getUTCFullYear() + '-' + two(d.getUTCMonth() + 1) + '-' + two(d.getUTCDate()) + ' ' +
      two(d.getUTCHours()) + ':' + two(d.getUTCMinutes());
  }

  function formatSpan(secs) {
    var days = Math.floor(secs / DAY), hours = Math.floor(secs % DAY / 3600), minutes = Math.floor(secs % 3600 / 60);
    var parts = [];
    if (days) parts.push(t('days', { n: days }));
    if (days || hours) parts.push(t('hours', { n: hours }));
    if (!days) parts.push(t('minutes', { n: minutes }));
    return parts.join(' ');
  }

  function countdown(expires) {
    var left = expires - now();
    return left > 0 ? t('left', { t: formatSpan(left) }) : t('expired');
  }

  // WeChat uins have up to 19 digits, past JavaScript's safe integers: keep them as text.
  function parseEnvelope(text) {
    return JSON.parse(text.replace(/"uin"\s*:\s*(\d+)/g, '"uin":"$1"'));
  }

  function token() {
    try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; }
  }

  function setToken(value) {
    try {
      if (value) sessionStorage.setItem(TOKEN_KEY, value);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* private mode: the token lives only as long as this page */ }
    memoryToken = value;
  }
  var memoryToken = '';

  function bearer() { return 'Bearer ' + (token() || memoryToken); }

  // One call to the API with the token; resolves { status, text, body }.
  // A 401 means the token is wrong (or was changed on the server): ask again.
  function api(method, path, body) {
    var init = { method: method, headers: { Authorization: bearer() }, cache: 'no-store' };
    if (body) {
      init.body = body;
      init.headers['Content-Type'] = 'application/x-www-form-urlencoded';
    }
    return fetch(path, init).then(function (response) {
      return response.text().then(function (text) {
        var parsed = null;
        try { parsed = parseEnvelope(text); } catch (e) { /* text/plain */ }
        var answer = { status: response.status, text: text, body: parsed };
        if (response.status === 401 && parsed && parsed.code === 40103) {
          signIn(t('wrongToken'), answer);
          throw answer;
        }
        if (response.status === 404 && parsed && parsed.code === 40401 && path.indexOf('/admin/') === 0) {
          // No admin_token on the server (any more).
          show('off');
          throw answer;
        }
        if (!response.ok) throw answer;
        return answer;
      });
    });
  }

  // The token was refused: the sign-in form is on show already.
  function signedOut(err) {
    return Boolean(err && err.status === 401 && err.body && err.body.code === 40103);
  }

  function errorText(err) {
    if (err && err.status) {
      var body = err.body || {};
      return {
        message: body.message || err.text || ('HTTP ' + err.status),
        detail: t('detail', { status: err.status, code: body.code === undefined ? '—' : body.code })
      };
    }
    return { message: t('unreachable', { e: err && err.message ? err.message : String(err) }), detail: '' };
  }

  function say(box, state, message, detail) {
    box.textContent = '';
    box.setAttribute('data-state', state);
    box.appendChild(el('span', { 'class': state === 'error' ? 'error-message' : 'message', text: message }));
    if (detail) box.appendChild(el('span', { 'class': 'error-detail', text: detail }));
  }

  function show(which) {
    $('admin-off').hidden = which !== 'off';
    $('signin').hidden = which !== 'signin';
    $('console').hidden = which !== 'console';
    $('sign-out').hidden = which !== 'console';
    document.body.setAttribute('data-view', which);
    document.body.setAttribute('data-ready', 'true');
  }

  function signIn(message, answer) {
    setToken('');
    stopLogin();
    $('key-secret-box').hidden = true;
    $('key-secret').textContent = '';
    show('signin');
    var box = $('signin-result');
    if (message) {
      var code = answer && answer.body ? answer.body.code : '';
      say(box, 'error', message, answer ? t('detail', { status: answer.status, code: code }) : '');
    } else {
      box.setAttribute('data-state', 'idle');
      box.textContent = '';
    }
    $('token').value = '';
    $('token').focus();
  }

  // ---- Accounts ---------------------------------------------------------------

  // Why an account needs attention, if it does; ranks sort by it.
  function stateOf(a) {
    if (a.health !== 'healthy') return 'dead';
    var outcomeBad = a.lastOutcome && a.lastOutcome !== 'refreshed' && a.lastOutcome !== 'saved by a caller';
    var checkBad = a.lastCheck && a.lastCheck !== 'alive';
    if (outcomeBad || checkBad) return 'failing';
    if (a.expiresTimestamp && a.expiresTimestamp - now() < DAY) return 'expiring';
    return 'ok';
  }
  var RANK = { dead: 0, failing: 1, expiring: 2, ok: 3 };
  var STATE_TEXT = { ok: 'stateOk', expiring: 'stateExpiring', failing: 'stateFailing', dead: 'stateDead' };

  function kindLabel(a) {
    return t(a.login === 'app' ? 'kindApp' : a.login === 'wx' || a.kind === 'wx' ? 'kindWx' : 'kindQq');
  }

  function outcomeText(text) {
    if (!text) return '';
    if (text === 'alive') return t('checkAlive');
    if (text === 'dead') return t('checkDead');
    if (text === 'refreshed') return t('outcomeRefreshed');
    if (text === 'saved by a caller') return t('outcomeSaved');
    return text;
  }

  function when(ts, outcome) {
    if (!ts) return [el('span', { 'class': 'muted', text: t('never') })];
    return [el('span', { text: formatUnix(ts) }), el('br'), el('span', { 'class': 'outcome', text: outcomeText(outcome) })];
  }

  function membership(a) {
    var m = a.membership;
    if (!m) return [el('span', { 'class': 'muted', text: t('vipUnknown') })];
    return ['vip', 'svip'].map(function (name) {
      var on = m[name], end = m[name + 'EndTimestamp'];
      return el('div', { 'class': 'vip-line' }, [
        el('span', { 'class': 'badge ' + (on ? 'on' : 'off'), 'data-vip': name, text: t(name) }), ' ',
        el('span', { text: on && end ? t('vipUntil', { t: formatUnix(end) }) : on ? '' : t('vipNone') })
      ]);
    });
  }

  function button(action, label, extra) {
    return el('button', { type: 'button', 'class': 'copy' + (extra ? ' ' + extra : ''), 'data-action': action, text: t(label) });
  }

  function row(a) {
    var state = stateOf(a);
    var tr = el('tr', { 'data-uin': a.id, 'data-state': state, 'data-health': a.health, 'class': state === 'ok' ? '' : 'attention' });
    var key = a.expiresTimestamp ? [
      el('span', { text: t('created', { t: a.createdTimestamp ? formatUnix(a.createdTimestamp) : '—' }) }), el('br'),
      el('span', { text: t('expires', { t: formatUnix(a.expiresTimestamp) }) }), el('br'),
      el('span', { 'class': 'badge countdown ' + (a.expiresTimestamp > now() && state !== 'dead' ? 'on' : 'off'), 'data-expires': String(a.expiresTimestamp), text: countdown(a.expiresTimestamp) })
    ] : [el('span', { 'class': 'muted', text: '—' })];
    var next = a.nextAction
      ? t(a.nextAction === 'check' ? 'nextCheck' : 'nextRefresh', { t: formatUnix(a.nextActionTimestamp) })
      : t('nextNone');
    var actions = [
      button('check', 'actCheck'), button('refresh', 'actRefresh'),
      button('copy-json', 'actCopyJson'), button('copy-header', 'actCopyHeader'),
      button('reveal', 'actReveal'), button('remove', 'actRemove', 'danger-link')
    ];
    if (state === 'dead') actions.unshift(button('relogin', 'actRelogin', 'primary-link'));
    [
      [el('code', { 'class': 'uin', text: a.uin }), el('br'), el('span', { 'class': 'kind', text: kindLabel(a) })],
      [el('span', { 'class': 'badge state ' + state, text: t(STATE_TEXT[state]) })],
      key,
      when(a.lastCheckTimestamp, a.lastCheck),
      when(a.lastRefreshTimestamp, a.lastOutcome),
      [el('span', { 'class': 'next', text: next })],
      membership(a),
      [el('span', { 'class': 'uploads', text: String(a.uploadsSigned) })],
      [el('div', { 'class': 'row-actions' }, actions), el('code', { 'class': 'secret', hidden: '' })]
    ].forEach(function (cell, i) {
      tr.appendChild(el('td', { 'data-col': String(i) }, cell));
    });
    return tr;
  }

  function renderAccounts() {
    var body = $('accounts-body');
    body.textContent = '';
    accounts.slice().sort(function (x, y) {
      var rank = RANK[stateOf(x)] - RANK[stateOf(y)];
      return rank || (x.expiresTimestamp || 0) - (y.expiresTimestamp || 0);
    }).forEach(function (a) { body.appendChild(row(a)); });
    $('accounts-empty').hidden = accounts.length > 0;
    $('accounts').hidden = accounts.length === 0;
  }

  var EVENT_TEXT = {
    'account.added': 'evAdded', 'account.checked': 'evChecked', 'account.refreshed': 'evRefreshed',
    'account.failing': 'evFailing', 'account.dead': 'evDead', 'account.removed': 'evRemoved'
  };

  function renderTimeline() {
    var list = $('timeline');
    list.textContent = '';
    events.forEach(function (e) {
      list.appendChild(el('li', { 'data-event': e.event, 'data-uin': e.uin }, [
        el('time', { text: formatUnix(e.timestamp) }), ' ',
        el('code', { text: e.uin }), ' ',
        el('span', { 'class': 'event ' + e.event.replace('account.', ''), text: t(EVENT_TEXT[e.event] || e.event) }),
        e.detail ? el('span', { 'class': 'muted', text: ' · ' + outcomeText(e.detail) }) : null
      ]));
    });
    $('timeline-empty').hidden = events.length > 0;
  }

  function load() {
    return Promise.all([
      api('GET', '/admin/accounts'), api('GET', '/admin/events?limit=50'), api('GET', '/admin/keys')
    ]).then(function (answers) {
      accounts = answers[0].body.data.accounts;
      events = answers[1].body.data.events;
      keys = answers[2].body.data.keys;
      show('console');
      renderAccounts();
      renderTimeline();
      renderKeys();
      document.body.setAttribute('data-loaded', String(Number(document.body.getAttribute('data-loaded') || 0) + 1));
    });
  }

  // ---- Caller keys ------------------------------------------------------------

  function keysRequired() {
    var meta = document.querySelector('meta[name="qmkeys-require-api-key"]');
    return Boolean(meta && meta.getAttribute('content') === 'true');
  }

  function renderKeys() {
    $('keys-hint').textContent = t(keysRequired() ? 'keysOn' : 'keysOff');
    var body = $('keys-body');
    body.textContent = '';
    keys.forEach(function (k) {
      body.appendChild(el('tr', { 'data-key': k.id }, [
        el('td', {}, [el('span', { text: k.name }), el('br'), el('code', { 'class': 'muted', text: k.id })]),
        el('td', { text: String(k.rateLimit) }),
        el('td', { text: k.lastUsedTimestamp ? formatUnix(k.lastUsedTimestamp) : t('never') }),
        el('td', {}, [el('button', { type: 'button', 'class': 'copy danger-link', 'data-revoke': k.id, text: t('actRevoke') })])
      ]));
    });
    $('keys-empty').hidden = keys.length > 0;
    $('keys').hidden = keys.length === 0;
  }

  // The secret comes back once, in the creation's answer: shown in its own
  // box until the owner copies it or the page is left, never stored.
  function onCreateKey(event) {
    event.preventDefault();
    var box = $('key-result');
    var body = new URLSearchParams();
    body.set('name', $('key-name').value.trim());
    body.set('rate_limit', $('key-limit').value.trim());
    say(box, 'busy', '…');
    api('POST', '/admin/keys', body.toString()).then(function (r) {
      var created = r.body.data;
      $('key-secret').textContent = created.secret;
      $('key-secret-box').hidden = false;
      $('key-name').value = '';
      say(box, 'done', t('keyCreated', { name: created.key.name, id: created.key.id }));
      return load();
    }).catch(function (err) {
      if (signedOut(err)) return;
      var e = errorText(err);
      say(box, 'error', e.message, e.detail);
    });
  }

  function onRevokeKey(id) {
    var box = $('key-result');
    var k = keys.filter(function (x) { return x.id === id; })[0] || { name: id, id: id };
    api('DELETE', '/admin/keys/' + encodeURIComponent(id)).then(function () {
      say(box, 'done', t('keyRevoked', { name: k.name, id: k.id }));
      return load();
    }).catch(function (err) {
      if (signedOut(err)) return;
      var e = errorText(err);
      say(box, 'error', e.message, e.detail);
    });
  }

  function find(id) {
    return accounts.filter(function (a) { return a.id === id; })[0];
  }

  function copy(value) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(value).catch(function () { fallbackCopy(value); });
    }
    fallbackCopy(value);
    return Promise.resolve();
  }

  function fallbackCopy(value) {
    var area = el('textarea', {}, [value]);
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    try { document.execCommand('copy'); } catch (e) { /* nothing more to try */ }
    document.body.removeChild(area);
  }

  function cookiePath(id, format) {
    return '/admin/accounts/' + encodeURIComponent(id) + '/cookie?format=' + format;
  }

  // Runs one row action; the list and the timeline are read again after it.
  function act(action, id, tr) {
    var a = find(id);
    if (!a) return;
    var box = $('action-result');
    var done = function (message) {
      say(box, 'done', message);
      return load();
    };
    var run;
    if (action === 'check') {
      run = api('POST', '/admin/accounts/' + id + '/check').then(function (r) {
        return done(t(r.body.data.alive ? 'checkedAlive' : 'checkedDead', { uin: a.uin }));
      });
    } else if (action === 'refresh') {
      run = api('POST', '/admin/accounts/' + id + '/refresh').then(function () {
        return done(t('refreshed', { uin: a.uin }));
      });
    } else if (action === 'copy-json') {
      run = api('GET', cookiePath(id, 'json')).then(function (r) {
        return copy(JSON.stringify(r.body.data.cookie)).then(function () { say(box, 'done', t('copied', { uin: a.uin, what: 'JSON' })); });
      });
    } else if (action === 'copy-header') {
      run = api('GET', cookiePath(id, 'header')).then(function (r) {
        return copy(r.text).then(function () { say(box, 'done', t('copied', { uin: a.uin, what: 'Cookie' })); });
      });
    } else if (action === 'reveal') {
      var secret = tr.querySelector('.secret');
      var toggle = tr.querySelector('[data-action=reveal]');
      if (!secret.hidden) {
        secret.hidden = true;
        secret.textContent = '';
        toggle.textContent = t('actReveal');
        return;
      }
      run = api('GET', cookiePath(id, 'header')).then(function (r) {
        secret.textContent = r.text;
        secret.hidden = false;
        toggle.textContent = t('actHide');
      });
    } else if (action === 'remove') {
      removing = a;
      $('remove-question').textContent = t('removeQuestion', { uin: a.uin });
      $('remove-panel').hidden = false;
      $('remove-confirm').focus();
      return;
    } else if (action === 'relogin') {
      startLogin(a.login, a);
      $('add-card').scrollIntoView();
      return;
    }
    box.setAttribute('data-state', 'busy');
    run.catch(function (err) {
      if (signedOut(err)) return;
      var e = errorText(err);
      say(box, 'error', e.message, e.detail);
      return load().catch(function () { /* shown already */ });
    });
  }

  function onRemove() {
    var a = removing;
    if (!a) return;
    var logout = $('remove-logout').checked;
    $('remove-panel').hidden = true;
    removing = null;
    var box = $('action-result');
    api('DELETE', '/admin/accounts/' + a.id + '?logout=' + logout).then(function (r) {
      say(box, 'done', t(r.body.data.loggedOut ? 'removedLoggedOut' : 'removed', { uin: a.uin }));
      return load();
    }).catch(function (err) {
      if (signedOut(err)) return;
      var e = errorText(err);
      say(box, 'error', e.message, e.detail);
    });
  }

  // ---- Adding an account: QR login (and again for a dead one) or fast login ----

  function renderTabs() {
    var tabs = $('add-tabs');
    tabs.textContent = '';
    kinds.forEach(function (k) {
      var tab = el('button', { type: 'button', role: 'tab', 'class': 'tab', 'data-kind': k.name, 'aria-selected': String(k.name === kind), text: lang === 'en' ? k.en : k.zh });
      tab.addEventListener('click', function () {
        kind = k.name;
        renderTabs();
      });
      tabs.appendChild(tab);
    });
  }

  function qrStatus(status, text) {
    var node = $('add-status');
    node.setAttribute('data-status', status);
    node.textContent = text;
  }

  function stopLogin() {
    if (login) login.abort();
    login = null;
    relogin = null;
    $('add-cancel').hidden = true;
    $('add-hint').textContent = t('addHint');
  }

  function startLogin(loginKind, account) {
    stopLogin();
    kind = loginKind || kind;
    relogin = account || null;
    renderTabs();
    $('add-hint').textContent = relogin ? t('reloginHint', { uin: relogin.uin }) : t('addHint');
    var controller = new AbortController();
    login = controller;
    $('add-cancel').hidden = false;
    $('add-qr-box').hidden = true;
    qrStatus('starting', t('qrStarting'));
    var query = '?type=' + encodeURIComponent(kind) + '&save=true' + (relogin ? '&uin=' + encodeURIComponent(relogin.id) : '');
    fetch('/music/tencent/cookie/qrcode' + query, {
      headers: { Authorization: bearer(), Accept: 'text/event-stream' },
      cache: 'no-store',
      signal: controller.signal
    }).then(function (response) {
      var type = response.headers.get('content-type') || '';
      if (type.indexOf('text/event-stream') < 0) {
        return response.text().then(function (text) {
          var body = {};
          try { body = parseEnvelope(text); } catch (e) { /* not JSON */ }
          qrStatus('failed', t('qrFailed', { message: body.message || ('HTTP ' + response.status), code: body.code }));
        });
      }
      return window.qmkeysSse.read(response, function (event) { return onQrEvent(event, controller); });
    }).catch(function (err) {
      if (login === controller) qrStatus('lost', t('qrLost') + (err && err.message ? '：' + err.message : ''));
    }).then(function () {
      if (login === controller) {
        login = null;
        $('add-cancel').hidden = true;
      }
    });
  }

  // One event of the QR login's stream; true ends it.
  function onQrEvent(event, controller) {
    if (login !== controller) return true;
    var data = event.data;
    if (event.lastEventId === '1' || data.indexOf('data:image/') === 0) {
      $('add-qr').setAttribute('src', data);
      $('add-qr-box').hidden = false;
      return false;
    }
    if (data === '二维码已失效') {
      qrStatus('expired', t('qrExpired'));
      $('add-qr-box').hidden = true;
      return true;
    }
    var body;
    try { body = parseEnvelope(data); } catch (e) { return false; }
    if (body.status === 'waiting') qrStatus('waiting', t('qrWaiting'));
    else if (body.status === 'scanned') qrStatus('scanned', t('qrScanned'));
    else if (body.status === 'refused') { qrStatus('refused', t('qrRefused')); return true; }
    else if (body.cookie) {
      // The new key is saved on the server; it is not shown here.
      $('add-qr-box').hidden = true;
      qrStatus('done', t('qrSaved', { uin: mask(String(body.cookie.uin)) }));
      relogin = null;
      load();
      return true;
    } else if (body.code) {
      $('add-qr-box').hidden = true;
      qrStatus('failed', t('qrFailed', { message: body.message, code: body.code }));
      return true;
    }
    return false;
  }

  // As the server masks a uin (accounts::mask): the first two and last two digits.
  function mask(uin) {
    return uin.length < 6 ? '***' : uin.slice(0, 2) + '***' + uin.slice(-2);
  }

  function onFastLogin(event) {
    event.preventDefault();
    var form = $('fast-form');
    var body = new URLSearchParams();
    body.append('client_uin', form.elements.client_uin.value.trim());
    body.append('client_key', form.elements.client_key.value.trim());
    body.append('save', 'true');
    form.elements.client_key.value = '';
    var box = $('action-result');
    api('POST', '/music/tencent/cookie/fastlogin', body.toString()).then(function (r) {
      say(box, 'done', t('fastSaved', { uin: mask(String(r.body.data.cookie.uin)) }));
      return load();
    }).catch(function (err) {
      if (signedOut(err)) return;
      var e = errorText(err);
      say(box, 'error', e.message, e.detail);
    });
  }

  // ---- Language, timers, start ------------------------------------------------

  function applyLanguage() {
    document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
    document.querySelectorAll('[data-i18n]').forEach(function (node) {
      node.textContent = t(node.getAttribute('data-i18n'));
    });
    var sw = $('lang-switch');
    sw.textContent = lang === 'en' ? '中文' : 'English';
    sw.setAttribute('lang', lang === 'en' ? 'zh-CN' : 'en');
    if (relogin) $('add-hint').textContent = t('reloginHint', { uin: relogin.uin });
    renderTabs();
    if (!$('console').hidden) {
      renderAccounts();
      renderTimeline();
      renderKeys();
    }
  }

  function readKinds() {
    var meta = document.querySelector('meta[name="qmkeys-login-kinds"]');
    try { kinds = JSON.parse(meta.getAttribute('content')); } catch (e) { kinds = [{ name: 'qq', zh: 'QQ', en: 'QQ' }]; }
    kind = kinds.length ? kinds[0].name : 'qq';
  }

  function start() {
    readKinds();
    applyLanguage();
    $('lang-switch').addEventListener('click', function () {
      lang = lang === 'en' ? 'zh' : 'en';
      try { localStorage.setItem('qmkeys-lang', lang); } catch (e) { /* private mode */ }
      applyLanguage();
    });
    var meta = document.querySelector('meta[name="qmkeys-admin"]');
    if (!meta || meta.getAttribute('content') !== 'true') {
      show('off');
      return;
    }
    $('token-form').addEventListener('submit', function (event) {
      event.preventDefault();
      var value = $('token').value.trim();
      if (!value) return;
      setToken(value);
      say($('signin-result'), 'busy', '…');
      load().catch(function (err) {
        if (signedOut(err)) return;
        var e = errorText(err);
        say($('signin-result'), 'error', e.message, e.detail);
      });
    });
    $('sign-out').addEventListener('click', function () { signIn(''); });
    $('reload').addEventListener('click', function () { load().catch(function () { /* shown */ }); });
    $('accounts-body').addEventListener('click', function (event) {
      var target = event.target.closest('button[data-action]');
      if (!target) return;
      var tr = target.closest('tr');
      act(target.getAttribute('data-action'), tr.getAttribute('data-uin'), tr);
    });
    $('remove-confirm').addEventListener('click', onRemove);
    $('remove-cancel').addEventListener('click', function () {
      $('remove-panel').hidden = true;
      removing = null;
    });
    $('add-start').addEventListener('click', function () { startLogin(kind, null); });
    $('add-cancel').addEventListener('click', function () {
      stopLogin();
      $('add-qr-box').hidden = true;
      qrStatus('idle', '');
    });
    $('fast-form').addEventListener('submit', onFastLogin);
    $('key-form').addEventListener('submit', onCreateKey);
    $('keys-body').addEventListener('click', function (event) {
      var target = event.target.closest('button[data-revoke]');
      if (target) onRevokeKey(target.getAttribute('data-revoke'));
    });
    $('key-secret-copy').addEventListener('click', function () {
      copy($('key-secret').textContent).then(function () { say($('key-result'), 'done', t('keySecretCopied')); });
    });
    // Countdowns move on without asking the server.
    setInterval(function () {
      document.querySelectorAll('.countdown[data-expires]').forEach(function (node) {
        node.textContent = countdown(Number(node.getAttribute('data-expires')));
      });
    }, 30000);
    if (token()) {
      load().catch(function (err) {
        if (signedOut(err) || (err && err.status === 404)) return;
        signIn(errorText(err).message);
      });
    } else {
      signIn('');
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
