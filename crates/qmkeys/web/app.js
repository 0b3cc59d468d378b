// The qmkeys page: refresh a music key, log in with a QR code, upload a playlist cover.
// It talks to its own origin (the API) and, for the upload, to the bucket URL
// that the sign answer names; the Content-Security-Policy allows nothing else.
(function () {
  'use strict';

  var TEXT = {
    zh: {
      tagline: 'QQ 音乐 key 刷新、扫码登录与歌单封面上传',
      apiKeyTitle: '调用者密钥',
      apiKeyHint: '本服务器要求调用者密钥。填写管理员给你的密钥（qmk_…），它只保存在这个浏览器里。',
      apiKeyLabel: '密钥',
      apiKeyNeeded: '本服务器要求调用者密钥：请在上方“调用者密钥”中填写管理员给你的密钥（qmk_…）。',
      apiKeyRefused: '调用者密钥无效或已被吊销：请向管理员申请新的密钥，填在上方。',
      apiDocs: '接口文档',
      refreshTitle: '刷新 music key',
      refreshHint: '填写 uin 和 music_key，得到新的 key。key 只发送到本服务器，不会发往其他地方。',
      uinLabel: 'uin（QQ 号或微信账号 ID）',
      optionalSummary: 'refresh_key / refresh_token（key 已过期时填写）',
      refreshButton: '刷新',
      refreshing: '正在刷新…',
      uploadTitle: '上传歌单封面',
      uploadHint: '选择或拖入一张图片。页面在本地计算 SHA-1 和 MD5，向本服务器申请签名，再把文件直接上传到存储桶。',
      dropHint: '点击选择图片，或把图片拖到这里',
      dropLimit: '支持 PNG、JPG、GIF、WEBP、BMP、SVG，最大 {max}',
      stepHash: '计算 SHA-1 与 MD5',
      stepSign: '申请上传签名',
      stepPut: '上传到存储桶',
      stepVerify: '从存储桶读回图片',
      uploadButton: '上传',
      footer: 'qmkeys · 自己部署的 QQ 音乐 key 服务',
      copy: '复制',
      copied: '已复制',
      newKey: '新的 music key',
      created: '生成时间',
      expires: '过期时间',
      timeLeft: '剩余 {t}',
      expired: '已过期',
      vip: '绿钻',
      svip: '豪华绿钻',
      active: '有效',
      inactive: '无效',
      until: '至 {t}（还剩 {d} 天）',
      endedAt: '已于 {t} 结束',
      noEnd: '无记录',
      infoMissing: '会员信息暂时无法读取（新 key 已生成，请先保存）',
      days: '{n} 天',
      hours: '{n} 小时',
      minutes: '{n} 分钟',
      fileName: '文件',
      fileType: '类型',
      fileSize: '大小',
      notImage: '“{name}”不是支持的图片（{type}）：只能上传 PNG、JPG、GIF、WEBP、BMP 或 SVG 图片。',
      unknownType: '未知类型',
      tooLarge: '文件太大：{size}，上限是 {max}。',
      emptyFile: '文件是空的。',
      noCrypto: '浏览器没有提供 WebCrypto（只在 HTTPS 或 localhost 下可用），无法计算 SHA-1：请通过 HTTPS 访问本页面。',
      readFailed: '无法读取文件：{e}',
      signRefused: '签名被拒绝（HTTP {status}，错误码 {code}）：{message}',
      signUnreachable: '无法连接本服务器：{e}',
      badAnswer: '服务器的回答无法识别（HTTP {status}）。',
      putRefused: '存储桶拒绝了上传（HTTP {status} {code}）：{message}',
      putUnreachable: '无法连接存储桶 {host}（网络错误或跨域被拒绝）。',
      readBackFailed: '文件已上传，但无法从存储桶读回图片：{url}',
      uploading: '上传中 {p}%',
      uploaded: '上传完成',
      cdn: 'CDN 地址',
      bucketUrl: '存储桶地址',
      fromBucket: '从存储桶读回的图片',
      errorDetail: 'HTTP {status} · 错误码 {code}',
      refreshUnreachable: '无法连接本服务器：{e}',
      loginTitle: '扫码登录',
      loginHint: '选择扫码的应用，用手机扫码登录，得到一个新的 music key。登录只经过本服务器。',
      loginDesktop: '电脑上已经登录了 QQ？在那台电脑上运行 qmkeys login --desktop，不用扫码。',
      loginSave: '保存到服务器（服务器会保持这个账号有效）',
      loginButton: '获取二维码',
      loginQrAlt: '登录二维码：用手机扫描',
      loginStarting: '正在获取二维码…',
      loginWaiting: '等待扫码',
      loginScanned: '已扫码，请在手机上确认',
      loginExpired: '已过期，点击刷新',
      loginRefused: '已拒绝',
      loginDone: '登录成功',
      loginFailed: '登录失败',
      loginLost: '连接已断开，点击刷新',
      loginCode: '错误码 {code}',
      loginUnreachable: '无法连接本服务器：{e}'
    },
    en: {
      apiKeyTitle: 'Caller key',
      apiKeyHint: 'This server wants a caller key. Enter the key the owner gave you (qmk_…); it is kept in this browser only.',
      apiKeyLabel: 'Key',
      apiKeyNeeded: 'This server wants a caller key: enter the key the owner gave you (qmk_…) under "Caller key" above.',
      apiKeyRefused: 'The caller key is not valid or was revoked: ask the owner for a new one and enter it above.',
      tagline: 'QQ Music key refresh, QR login and playlist-cover upload',
      apiDocs: 'API docs',
      refreshTitle: 'Refresh a music key',
      refreshHint: 'Enter the uin and music_key to get a new key. The key goes to this server only.',
      uinLabel: 'uin (QQ number or WeChat id)',
      optionalSummary: 'refresh_key / refresh_token (when the key has expired)',
      refreshButton: 'Refresh',
      refreshing: 'Refreshing…',
      uploadTitle: 'Upload a playlist cover',
      uploadHint: 'Pick or drop an image. The page computes SHA-1 and MD5 here, asks this server for a signature, and uploads the file straight to the bucket.',
      dropHint: 'Click to pick an image, or drop one here',
      dropLimit: 'PNG, JPG, GIF, WEBP, BMP or SVG, up to {max}',
      stepHash: 'Compute SHA-1 and MD5',
      stepSign: 'Get an upload signature',
      stepPut: 'Upload to the bucket',
      stepVerify: 'Load the image back from the bucket',
      uploadButton: 'Upload',
      footer: 'qmkeys · your own QQ Music key service',
      copy: 'Copy',
      copied: 'Copied',
      newKey: 'New music key',
      created: 'Created',
      expires: 'Expires',
      timeLeft: '{t} left',
      expired: 'expired',
      vip: 'VIP',
      svip: 'SVIP',
      active: 'active',
      inactive: 'inactive',
      until: 'until {t} ({d} days left)',
      endedAt: 'ended {t}',
      noEnd: 'none on record',
      infoMissing: 'VIP state unavailable for now (the new key is valid: keep it)',
      days: '{n} d',
      hours: '{n} h',
      minutes: '{n} min',
      fileName: 'File',
      fileType: 'Type',
      fileSize: 'Size',
      notImage: '"{name}" is not a supported image ({type}): upload a PNG, JPG, GIF, WEBP, BMP or SVG image.',
      unknownType: 'unknown type',
      tooLarge: 'The file is too large: {size}; the limit is {max}.',
      emptyFile: 'The file is empty.',
      noCrypto: 'This browser offers no WebCrypto here (only over HTTPS or on localhost), so SHA-1 cannot be computed: open this page over HTTPS.',
      readFailed: 'Cannot read the file: {e}',
      signRefused: 'Signing refused (HTTP {status}, code {code}): {message}',
      signUnreachable: 'Cannot reach this server: {e}',
      badAnswer: 'The server answered something unreadable (HTTP {status}).',
      putRefused: 'The bucket refused the upload (HTTP {status} {code}): {message}',
      putUnreachable: 'Cannot reach the bucket {host} (network error or cross-origin refusal).',
      readBackFailed: 'Uploaded, but the image could not be loaded back from the bucket: {url}',
      uploading: 'Uploading {p}%',
      uploaded: 'Uploaded',
      cdn: 'CDN address',
      bucketUrl: 'Bucket URL',
      fromBucket: 'The image as the bucket serves it',
      errorDetail: 'HTTP {status} · code {code}',
      refreshUnreachable: 'Cannot reach this server: {e}',
      loginTitle: 'QR login',
      loginHint: 'Pick the app, then scan with your phone to get a new music key. The login goes through this server only.',
      loginDesktop: 'Logged in to desktop QQ? Run qmkeys login --desktop on that computer instead of scanning.',
      loginSave: 'Save to the server (it keeps this account alive)',
      loginButton: 'Get a QR code',
      loginQrAlt: 'Login QR code: scan it with your phone',
      loginStarting: 'Getting a QR code…',
      loginWaiting: 'Waiting for a scan',
      loginScanned: 'Scanned: confirm on your phone',
      loginExpired: 'Expired: click to refresh',
      loginRefused: 'Refused',
      loginDone: 'Logged in',
      loginFailed: 'Login failed',
      loginLost: 'The connection dropped: click to refresh',
      loginCode: 'code {code}',
      loginUnreachable: 'Cannot reach this server: {e}'
    }
  };

  var TYPES = {
    'image/png': 'png', 'image/jpeg': 'jpg', 'image/gif': 'gif', 'image/webp': 'webp',
    'image/bmp': 'bmp', 'image/x-ms-bmp': 'bmp', 'image/svg+xml': 'svg'
  };
  var EXTS = ['png', 'jpg', 'jpeg', 'gif', 'webp', 'bmp', 'svg'];

  var lang = 'zh';
  try { lang = localStorage.getItem('qmkeys-lang') === 'en' ? 'en' : 'zh'; } catch (e) { /* private mode */ }
  var rerender = { refresh: null, upload: null, login: null };

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

  function applyLanguage() {
    document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
    document.querySelectorAll('[data-i18n]').forEach(function (node) {
      node.textContent = t(node.getAttribute('data-i18n'));
    });
    var sw = $('lang-switch');
    sw.textContent = lang === 'en' ? '中文' : 'English';
    sw.setAttribute('lang', lang === 'en' ? 'zh-CN' : 'en');
    $('drop-limit').textContent = t('dropLimit', { max: formatSize(maxUpload()) });
    if (rerender.refresh) rerender.refresh();
    if (rerender.upload) rerender.upload();
    if (rerender.login) rerender.login();
  }

  function maxUpload() {
    var meta = document.querySelector('meta[name="qmkeys-max-upload-bytes"]');
    var n = meta ? Number(meta.getAttribute('content')) : NaN;
    return n > 0 ? n : 20 * 1024 * 1024;
  }

  function formatSize(bytes) {
    if (bytes >= 1024 * 1024) return (bytes / 1024 / 1024).toFixed(bytes % (1024 * 1024) ? 1 : 0) + ' MiB';
    if (bytes >= 1024) return (bytes / 1024).toFixed(1) + ' KiB';
    return bytes + ' B';
  }

  function formatUnix(secs) {
    // Beijing time, as the API writes its *Time fields.
    var d = new Date((secs + 8 * 3600) * 1000);
    function two(n) { return (n < 10 ? '0' : '') + n; }
    return d.getUTCFullYear() + '-' + two(d.getUTCMonth() + 1) + '-' + two(d.getUTCDate()) + ' ' +
      two(d.getUTCHours()) + ':' + two(d.getUTCMinutes());
  }

  function formatLeft(secs) {
    if (secs <= 0) return t('expired');
    var days = Math.floor(secs / 86400), hours = Math.floor(secs % 86400 / 3600), minutes = Math.floor(secs % 3600 / 60);
    var parts = [];
    if (days) parts.push(t('days', { n: days }));
    if (days || hours) parts.push(t('hours', { n: hours }));
    if (!days) parts.push(t('minutes', { n: minutes }));
    return t('timeLeft', { t: parts.join(' ') });
  }

  function copyButton(value) {
    var button = el('button', { type: 'button', 'class': 'copy', text: t('copy') });
    button.addEventListener('click', function () {
      function done() {
        button.textContent = t('copied');
        setTimeout(function () { button.textContent = t('copy'); }, 1500);
      }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(value).then(done, function () { fallbackCopy(value); done(); });
      } else {
        fallbackCopy(value);
        done();
      }
    });
    return button;
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

  // WeChat uins have up to 19 digits, past JavaScript's safe integers: keep them as text.
  function parseEnvelope(text) {
    return JSON.parse(text.replace(/"uin"\s*:\s*(\d+)/g, '"uin":"$1"'));
  }

  function showError(box, message, detail) {
    box.textContent = '';
    box.setAttribute('data-state', 'error');
    box.appendChild(el('span', { 'class': 'error-message', text: message }));
    if (detail) box.appendChild(el('span', { 'class': 'error-detail', text: detail }));
  }

  // ---- Refresh ---------------------------------------------------------------

  function fact(list, label, valueNode, extra) {
    list.appendChild(el('dt', { text: label }));
    list.appendChild(el('dd', {}, [valueNode].concat(extra || [])));
  }

  // A refresh's `data` (also what a login ends with); ids get `prefix` so two
  // cards can show one each.
  function renderKey(box, data, prefix) {
    var cookie = data.cookie;
    var list = el('dl', { 'class': 'facts' });
    fact(list, 'uin', el('code', { text: String(cookie.uin) }));
    fact(list, t('newKey'), el('code', { id: prefix + 'new-musickey', text: cookie.musickey }), [copyButton(cookie.musickey)]);
    if (cookie.refresh_key) {
      fact(list, 'refresh_key', el('code', { id: prefix + 'new-refresh-key', text: cookie.refresh_key }), [copyButton(cookie.refresh_key)]);
    }
    if (cookie.refresh_token) {
      fact(list, 'refresh_token', el('code', { id: prefix + 'new-refresh-token', text: cookie.refresh_token }), [copyButton(cookie.refresh_token)]);
    }
    fact(list, t('created'), el('span', { text: formatUnix(cookie.musickeyCreateTimestamp) }));
    var left = cookie.musickeyLastTimestamp - Math.floor(Date.now() / 1000);
    fact(list, t('expires'), el('span', { text: formatUnix(cookie.musickeyLastTimestamp) }),
      [el('span', { id: prefix + 'key-time-left', 'class': 'badge ' + (left > 0 ? 'on' : 'off'), text: formatLeft(left) })]);
    if (data.info) {
      [['vip', 'vip'], ['svip', 'svip']].forEach(function (pair) {
        var name = pair[0], on = data.info[name];
        var end = data.info[name + 'EndTimestamp'];
        var diff = data.info[name + 'DateDiff'];
        var detail = end ? (on ? t('until', { t: formatUnix(end), d: diff }) : t('endedAt', { t: formatUnix(end) })) : t('noEnd');
        fact(list, t(pair[1]), el('span', { id: prefix + name + '-state', 'class': 'badge ' + (on ? 'on' : 'off'), text: on ? t('active') : t('inactive') }),
          [el('span', { text: detail })]);
      });
    } else {
      fact(list, t('vip'), el('span', { text: t('infoMissing') }));
    }
    box.textContent = '';
    box.appendChild(list);
    box.setAttribute('data-state', 'done');
  }

  function renderRefresh(data) {
    renderKey($('refresh-result'), data, '');
  }

  function onRefresh(event) {
    event.preventDefault();
    var form = $('refresh-form');
    var box = $('refresh-result');
    var body = new URLSearchParams();
    ['uin', 'music_key', 'refresh_key', 'refresh_token'].forEach(function (name) {
      var value = form.elements[name].value.trim();
      if (value) body.append(name, value);
    });
    var button = $('refresh-submit');
    button.disabled = true;
    rerender.refresh = null;
    box.setAttribute('data-state', 'busy');
    box.textContent = t('refreshing');
    // POST keeps the key out of access logs; the same origin as this page.
    fetch('/music/tencent/cookie/refresh', { method: 'POST', body: body, headers: keyHeaders() })
      .then(function (response) {
        return response.text().then(function (text) {
          var answer;
          try { answer = parseEnvelope(text); } catch (e) { answer = null; }
          if (!answer) {
            rerender.refresh = function () { showError(box, t('badAnswer', { status: response.status })); };
          } else if (answer.code === 200 && answer.data) {
            rerender.refresh = function () { renderRefresh(answer.data); };
          } else {
            rerender.refresh = function () {
              showError(box, refusal(answer), t('errorDetail', { status: response.status, code: answer.code }));
            };
          }
          rerender.refresh();
        });
      }, function (e) {
        rerender.refresh = function () { showError(box, t('refreshUnreachable', { e: e.message })); };
        rerender.refresh();
      })
      .then(function () { button.disabled = false; });
  }

  // ---- QR login --------------------------------------------------------------

  // What the route sends last when the QR expired (the public API's text).
  var EXPIRED_TEXT = '二维码已失效';
  var STATUS_TEXT = {
    idle: null, starting: 'loginStarting', waiting: 'loginWaiting', scanned: 'loginScanned',
    expired: 'loginExpired', refused: 'loginRefused', done: 'loginDone', failed: 'loginFailed', lost: 'loginLost'
  };
  // After these the QR is spent: a click on it starts a new login.
  var SPENT = { expired: true, refused: true, lost: true };
  // `run` counts logins: events of an older one are dropped.
  var login = { kind: null, run: 0, controller: null, status: 'idle', show: null };

  // The QR login kinds the server offers, its default first:
  // [{name, zh, en}], the name being the route's `type`.
  function loginKinds() {
    var meta = document.querySelector('meta[name="qmkeys-login-kinds"]');
    var kinds = [];
    try { kinds = JSON.parse(meta ? meta.getAttribute('content') : '[]'); } catch (e) { /* none offered */ }
    return Array.isArray(kinds) ? kinds.filter(function (k) { return k && /^[a-z]+$/.test(k.name); }) : [];
  }

  // ---- Caller key (require_api_key) -------------------------------------------

  var KEY_MISSING = 40106;
  var KEY_REFUSED = 40107;
  var KEY_STORE = 'qmkeys-api-key';

  function requireKey() {
    var meta = document.querySelector('meta[name="qmkeys-require-api-key"]');
    return !!meta && meta.getAttribute('content') === 'true';
  }

  // Headers for a call to the API: X-Api-Key when the server wants a key.
  function keyHeaders(headers) {
    headers = headers || {};
    var key = requireKey() ? $('api-key').value.trim() : '';
    if (key) headers['X-Api-Key'] = key;
    return headers;
  }

  // The message to show for a refused call: ours, in the page's language,
  // when the refusal is about the caller key.
  function refusal(answer) {
    if (answer.code !== KEY_MISSING && answer.code !== KEY_REFUSED) return answer.message;
    var card = $('api-key-card');
    card.hidden = false;
    card.classList.add('attention');
    $('api-key').focus();
    return answer.code === KEY_REFUSED ? t('apiKeyRefused') : t('apiKeyNeeded');
  }

  function initKey() {
    if (!requireKey()) return;
    $('api-key-card').hidden = false;
    var input = $('api-key');
    try { input.value = localStorage.getItem(KEY_STORE) || ''; } catch (e) { /* private mode */ }
    input.addEventListener('input', function () {
      $('api-key-card').classList.remove('attention');
      try { localStorage.setItem(KEY_STORE, input.value.trim()); } catch (e) { /* private mode */ }
    });
  }

  function allowSave() {
    var meta = document.querySelector('meta[name="qmkeys-allow-save"]');
    return !!meta && meta.getAttribute('content') === 'true';
  }

  function setLoginStatus(status) {
    login.status = status;
    var line = $('login-status');
    line.setAttribute('data-status', status);
    line.textContent = STATUS_TEXT[status] ? t(STATUS_TEXT[status]) : '';
    $('login-qr-box').setAttribute('data-status', status);
    $('login-qr-button').disabled = !SPENT[status];
  }

  // Ends the running login, if any: closing the stream stops the server's polling.
  function stopLogin() {
    login.run++;
    if (login.controller) {
      login.controller.abort();
      login.controller = null;
    }
  }

  function clearLogin() {
    stopLogin();
    $('login-qr-box').hidden = true;
    $('login-qr').removeAttribute('src');
    setLoginStatus('idle');
  }

  function startLogin() {
    stopLogin();
    var run = login.run;
    var controller = new AbortController();
    login.controller = controller;
    var box = $('login-result');
    login.show = null;
    box.textContent = '';
    box.setAttribute('data-state', 'idle');
    $('login-qr-box').hidden = true;
    $('login-qr').removeAttribute('src');
    setLoginStatus('starting');
    var seen = false;
    var current = function () { return run === login.run; };
    var finish = function (status, show) {
      setLoginStatus(status);
      login.show = show || null;
      if (show) show();
      // The server closes the stream after its last event; closing it here too
      // makes sure nothing more is read.
      stopLogin();
    };
    var save = allowSave() && $('login-save').checked;
    var url = '/music/tencent/cookie/qrcode?type=' + encodeURIComponent(login.kind) + (save ? '&save=true' : '');
    fetch(url, { signal: controller.signal, cache: 'no-store', headers: keyHeaders({ Accept: 'text/event-stream' }) })
      .then(function (response) {
        if (!current()) return undefined;
        var type = response.headers.get('content-type') || '';
        if (response.status !== 200 || type.indexOf('text/event-stream') !== 0 || !response.body) {
          // Refused before any stream (bad input, too many logins, rate limit): the envelope says why.
          return response.text().then(function (text) {
            if (!current()) return;
            var answer = null;
            try { answer = parseEnvelope(text); } catch (e) { /* shown as unreadable below */ }
            finish('failed', answer && answer.message ? function () {
              showError(box, refusal(answer), t('errorDetail', { status: response.status, code: answer.code }));
            } : function () { showError(box, t('badAnswer', { status: response.status })); });
          });
        }
        return window.qmkeysSse.read(response, function (event) {
          if (!current()) return true;
          seen = true;
          onLoginEvent(event, finish);
          return !current();
        }).then(function () {
          if (current()) finish('lost');
        });
      })
      .catch(function (e) {
        if (!current()) return;
        if (seen) finish('lost');
        else finish('failed', function () { showError(box, t('loginUnreachable', { e: e.message })); });
      });
  }

  function onLoginEvent(event, finish) {
    var box = $('login-result');
    if (event.lastEventId === '1') {
      if (event.data.indexOf('data:image/') === 0) {
        $('login-qr').src = event.data;
        $('login-qr-box').hidden = false;
      }
      return;
    }
    if (event.data === EXPIRED_TEXT) {
      finish('expired');
      return;
    }
    var message = null;
    try { message = parseEnvelope(event.data); } catch (e) { /* handled below */ }
    if (!message || typeof message !== 'object') {
      finish('failed', function () { showError(box, t('badAnswer', { status: 200 })); });
    } else if (message.cookie) {
      $('login-qr-box').hidden = true;
      finish('done', function () { renderKey(box, message, 'login-'); });
    } else if (message.status === 'waiting' || message.status === 'scanned') {
      setLoginStatus(message.status);
    } else if (message.status === 'refused') {
      finish('refused');
    } else if (message.code !== undefined) {
      finish('failed', function () {
        showError(box, message.message || t('loginFailed'), t('loginCode', { code: message.code }));
      });
    }
    // Anything else is a state this page does not know yet: keep waiting.
  }

  function chooseKind(kind) {
    document.querySelectorAll('#login-tool [role=tab]').forEach(function (tab) {
      tab.setAttribute('aria-selected', tab.getAttribute('data-kind') === kind ? 'true' : 'false');
    });
    if (kind === login.kind) return;
    login.kind = kind;
    // A QR of the other kind is no use here: end it.
    clearLogin();
  }

  function initLogin() {
    $('login-save-row').hidden = !allowSave();
    var kinds = loginKinds();
    var tabs = $('login-tabs');
    kinds.forEach(function (kind, i) {
      var tab = el('button', {
        type: 'button', role: 'tab', 'class': 'tab', id: 'login-tab-' + kind.name,
        'data-kind': kind.name, 'aria-selected': i === 0 ? 'true' : 'false'
      });
      tab.addEventListener('click', function () { chooseKind(kind.name); });
      tabs.appendChild(tab);
    });
    login.kind = kinds.length ? kinds[0].name : null;
    $('login-start').disabled = !login.kind;
    var labelTabs = function () {
      kinds.forEach(function (kind) {
        $('login-tab-' + kind.name).textContent = (lang === 'en' ? kind.en : kind.zh) || kind.name;
      });
    };
    $('login-start').addEventListener('click', startLogin);
    $('login-qr-button').addEventListener('click', function () {
      if (SPENT[login.status]) startLogin();
    });
    // Leaving the page ends the login instead of leaving it to time out.
    window.addEventListener('pagehide', stopLogin);
    window.addEventListener('pageshow', function (e) {
      // Back from the page cache: the login ended when the page was left.
      if (e.persisted && (login.status === 'starting' || login.status === 'waiting' || login.status === 'scanned')) {
        setLoginStatus('lost');
      }
    });
    rerender.login = function () {
      labelTabs();
      setLoginStatus(login.status);
      $('login-qr').alt = t('loginQrAlt');
      if (login.show) login.show();
    };
    setLoginStatus('idle');
  }

  // ---- Upload ----------------------------------------------------------------

  var chosen = null;
  var previewUrl = null;

  function extOf(file) {
    var byType = TYPES[(file.type || '').toLowerCase()];
    var dot = file.name.lastIndexOf('.');
    var byName = dot >= 0 ? file.name.slice(dot + 1).toLowerCase() : '';
    if (byType === 'jpg' && byName === 'jpeg') return 'jpeg';
    if (byType) return byType;
    // No type from the browser: trust a known extension only.
    return !file.type && EXTS.indexOf(byName) >= 0 ? byName : null;
  }

  function setStep(step, status) {
    var li = document.querySelector('#upload-steps li[data-step="' + step + '"]');
    if (li) li.setAttribute('data-status', status);
  }

  function resetSteps() {
    $('upload-steps').hidden = true;
    ['hash', 'sign', 'put', 'verify'].forEach(function (s) { setStep(s, 'todo'); });
    $('upload-progress').value = 0;
  }

  function choose(file) {
    var box = $('upload-result');
    chosen = null;
    $('upload-start').disabled = true;
    resetSteps();
    rerender.upload = null;
    box.setAttribute('data-state', 'idle');
    box.textContent = '';
    if (previewUrl) { URL.revokeObjectURL(previewUrl); previewUrl = null; }
    $('upload-preview').hidden = true;
    if (!file) return;
    var ext = extOf(file);
    var fail = function (key, params) {
      rerender.upload = function () { showError(box, t(key, params())); };
      rerender.upload();
    };
    if (!ext) {
      return fail('notImage', function () { return { name: file.name, type: file.type || t('unknownType') }; });
    }
    if (file.size === 0) return fail('emptyFile', function () { return {}; });
    if (file.size > maxUpload()) {
      return fail('tooLarge', function () { return { size: formatSize(file.size), max: formatSize(maxUpload()) }; });
    }
    chosen = { file: file, ext: ext };
    previewUrl = URL.createObjectURL(file);
    $('preview-img').src = previewUrl;
    var info = $('file-info');
    info.textContent = '';
    fact(info, t('fileName'), el('code', { text: file.name }));
    fact(info, t('fileType'), el('span', { text: ext.toUpperCase() }));
    fact(info, t('fileSize'), el('span', { text: formatSize(file.size) + ' (' + file.size + ' B)' }));
    $('upload-preview').hidden = false;
    $('upload-start').disabled = false;
  }

  function hex(buffer) {
    var bytes = new Uint8Array(buffer), out = '';
    for (var i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
    return out;
  }

  function cosError(xml) {
    var pick = function (tag) {
      var m = new RegExp('<' + tag + '>([^<]*)</' + tag + '>').exec(xml || '');
      return m ? m[1] : '';
    };
    return { code: pick('Code'), message: pick('Message') };
  }

  // Fails with a message already in the current language.
  function failure(key, params) {
    var err = new Error(key);
    err.show = function () { return t(key, params); };
    return err;
  }

  function put(signed, file) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open('PUT', signed.url);
      Object.keys(signed.header || {}).forEach(function (name) {
        // The browser sets Host and Content-Length itself, and signed them as the server expects.
        if (/^(host|content-length)$/i.test(name)) return;
        xhr.setRequestHeader(name, signed.header[name]);
      });
      xhr.upload.onprogress = function (e) {
        if (!e.lengthComputable) return;
        var p = Math.round(e.loaded / e.total * 100);
        $('upload-progress').value = p;
        $('upload-progress').textContent = t('uploading', { p: p });
      };
      xhr.onload = function () {
        if (xhr.status >= 200 && xhr.status < 300) {
          $('upload-progress').value = 100;
          resolve();
        } else {
          var e = cosError(xhr.responseText);
          reject(failure('putRefused', { status: xhr.status, code: e.code, message: e.message || xhr.statusText }));
        }
      };
      xhr.onerror = function () {
        var host = signed.url;
        try { host = new URL(signed.url).host; } catch (e) { /* keep the url */ }
        reject(failure('putUnreachable', { host: host }));
      };
      xhr.send(file);
    });
  }

  function renderUploaded(signed, image) {
    var box = $('upload-result');
    box.textContent = '';
    var list = el('dl', { 'class': 'facts' });
    fact(list, t('cdn'), el('code', { id: 'cdn-url', text: signed.CDN }), [copyButton(signed.CDN)]);
    fact(list, t('bucketUrl'), el('code', { id: 'bucket-url', text: signed.url }), [copyButton(signed.url)]);
    var figure = el('figure', { 'class': 'uploaded' }, [image, el('figcaption', { text: t('fromBucket') })]);
    box.appendChild(el('strong', { text: t('uploaded') }));
    box.appendChild(list);
    box.appendChild(figure);
    box.setAttribute('data-state', 'done');
  }

  function onUpload() {
    if (!chosen) return;
    var file = chosen.file, ext = chosen.ext;
    var box = $('upload-result');
    var button = $('upload-start');
    button.disabled = true;
    rerender.upload = null;
    resetSteps();
    $('upload-steps').hidden = false;
    box.setAttribute('data-state', 'busy');
    box.textContent = '';
    var step = 'hash';
    setStep('hash', 'busy');
    var signed;
    new Promise(function (resolve, reject) {
      if (!window.crypto || !window.crypto.subtle) return reject(failure('noCrypto'));
      file.arrayBuffer().then(resolve, function (e) { reject(failure('readFailed', { e: e.message })); });
    }).then(function (buffer) {
      var md5 = window.qmkeysMd5(new Uint8Array(buffer));
      return crypto.subtle.digest('SHA-1', buffer).then(function (sha1) {
        return { sha1: hex(sha1), md5: md5 };
      });
    }).then(function (sums) {
      setStep('hash', 'done');
      step = 'sign';
      setStep('sign', 'busy');
      var query = new URLSearchParams({ sha1: sums.sha1, md5: sums.md5, size: String(file.size), ext: ext });
      return fetch('/tool/cos/sign?' + query.toString(), { headers: keyHeaders() }).then(function (response) {
        return response.text().then(function (text) {
          var answer;
          try { answer = parseEnvelope(text); } catch (e) { throw failure('badAnswer', { status: response.status }); }
          if (answer.code !== 0 || !answer.data) {
            throw failure('signRefused', { status: response.status, code: answer.code, message: refusal(answer) });
          }
          return answer.data;
        });
      }, function (e) { throw failure('signUnreachable', { e: e.message }); });
    }).then(function (data) {
      if (!/^https?:\/\//.test(data.url) || data.method !== 'PUT') throw failure('badAnswer', { status: 200 });
      signed = data;
      setStep('sign', 'done');
      step = 'put';
      setStep('put', 'busy');
      return put(signed, file);
    }).then(function () {
      setStep('put', 'done');
      step = 'verify';
      setStep('verify', 'busy');
      return new Promise(function (resolve, reject) {
        var image = el('img', { id: 'bucket-img', 'class': 'cover', alt: t('fromBucket') });
        image.onload = function () { resolve(image); };
        image.onerror = function () { reject(failure('readBackFailed', { url: signed.url })); };
        image.src = signed.url;
      });
    }).then(function (image) {
      setStep('verify', 'done');
      rerender.upload = function () { renderUploaded(signed, image); };
      rerender.upload();
    }).catch(function (err) {
      setStep(step, 'failed');
      var show = err && err.show ? err.show : function () { return String(err && err.message || err); };
      rerender.upload = function () { showError(box, show()); };
      rerender.upload();
    }).then(function () {
      button.disabled = false;
    });
  }

  function init() {
    $('lang-switch').addEventListener('click', function () {
      lang = lang === 'en' ? 'zh' : 'en';
      try { localStorage.setItem('qmkeys-lang', lang); } catch (e) { /* private mode */ }
      applyLanguage();
    });
    $('refresh-form').addEventListener('submit', onRefresh);
    $('file-input').addEventListener('change', function (e) { choose(e.target.files[0]); });
    $('upload-start').addEventListener('click', onUpload);
    var zone = $('drop-zone');
    ['dragenter', 'dragover'].forEach(function (name) {
      zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.add('over'); });
    });
    ['dragleave', 'drop'].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove('over'); });
    });
    zone.addEventListener('drop', function (e) {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files.length) choose(e.dataTransfer.files[0]);
    });
    resetSteps();
    initKey();
    initLogin();
    applyLanguage();
    document.body.setAttribute('data-ready', 'true');
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
