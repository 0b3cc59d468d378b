// Server-Sent Events over fetch(): unlike EventSource this can read the JSON
// answer of a refused request, and it never reconnects by itself (a reconnect
// to the QR login route would start a new login).
(function () {
  'use strict';

  // Returns feed(text): calls onEvent({ lastEventId, data }) for each complete
  // event, by the WHATWG event-stream rules: LF, CR or CRLF line ends, comment
  // lines, several data lines joined by LF, and the last id kept for events
  // that carry none. onEvent returning true stops all further events.
  function parser(onEvent) {
    var buffer = '', data = [], hasData = false, lastId = '', stopped = false;

    function line(text) {
      if (text === '') {
        if (hasData && !stopped) stopped = onEvent({ lastEventId: lastId, data: data.join('\n') }) === true;
        data = [];
        hasData = false;
        return;
      }
      if (text.charAt(0) === ':') return;
      var colon = text.indexOf(':');
      var field = colon < 0 ? text : text.slice(0, colon);
      var value = colon < 0 ? '' : text.slice(colon + 1);
      if (value.charAt(0) === ' ') value = value.slice(1);
      if (field === 'data') {
        data.push(value);
        hasData = true;
      } else if (field === 'id' && value.indexOf('\u0000') < 0) {
        lastId = value;
      }
    }

    return function feed(text) {
      buffer += text;
      var ends = /\r\n|\r|\n/g, start = 0, m;
      while (!stopped && (m = ends.exec(buffer))) {
        // A CR last in the buffer may be the first half of a CRLF.
        if (m[0] === '\r' && m.index === buffer.length - 1) break;
        line(buffer.slice(start, m.index));
        start = ends.lastIndex;
      }
      buffer = buffer.slice(start);
      return stopped;
    };
  }

  // Reads a fetch() response's body as events until the server closes it or
  // onEvent returns true; resolves then, rejects on a network error or abort.
  function read(response, onEvent) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder('utf-8');
    var feed = parser(onEvent);
    function pump() {
      return reader.read().then(function (chunk) {
        var stop = feed(chunk.done ? decoder.decode() : decoder.decode(chunk.value, { stream: true }));
        if (stop) return reader.cancel().catch(function () { /* already closed */ });
        if (!chunk.done) return pump();
        return undefined;
      });
    }
    return pump();
  }

  window.qmkeysSse = { parser: parser, read: read };
})();
