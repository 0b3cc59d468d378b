// MD5 (RFC 1321) of bytes, for the upload tool: the sign endpoint needs the
// file's MD5 and WebCrypto does not offer it. Tested in a real browser against
// RFC 1321's vectors and against Rust's md-5 (crates/qmkeys/tests/browser).
//
//   qmkeysMd5(new Uint8Array([...]))  ->  "d41d8cd98f00b204e9800998ecf8427e"
//   var h = qmkeysMd5.create(); h.update(chunk); ...; h.hex()
(function (root) {
  'use strict';

  var S = [
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
    5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
    4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
    6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21
  ];

  // floor(abs(sin(i + 1)) * 2^32), written out rather than computed.
  var K = new Int32Array([
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391
  ]);

  // One 64-byte block of `bytes` at `offset` into the state.
  function block(state, x, bytes, offset) {
    for (var j = 0; j < 16; j++) {
      var o = offset + j * 4;
      x[j] = bytes[o] | (bytes[o + 1] << 8) | (bytes[o + 2] << 16) | (bytes[o + 3] << 24);
    }
    var a = state[0], b = state[1], c = state[2], d = state[3];
    for (var i = 0; i < 64; i++) {
      var f, g;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) & 15;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) & 15;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) & 15;
      }
      var sum = (a + f + K[i] + x[g]) | 0;
      a = d;
      d = c;
      c = b;
      b = (b + ((sum << S[i]) | (sum >>> (32 - S[i])))) | 0;
    }
    state[0] = (state[0] + a) | 0;
    state[1] = (state[1] + b) | 0;
    state[2] = (state[2] + c) | 0;
    state[3] = (state[3] + d) | 0;
  }

  function create() {
    var state = new Int32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]);
    var x = new Int32Array(16);
    var tail = new Uint8Array(64);
    var tailLength = 0;
    var total = 0;
    var done = false;

    function update(bytes) {
      if (done) throw new Error('md5: update after hex()');
      var i = 0;
      total += bytes.length;
      if (tailLength > 0) {
        while (tailLength < 64 && i < bytes.length) tail[tailLength++] = bytes[i++];
        if (tailLength < 64) return hasher;
        block(state, x, tail, 0);
        tailLength = 0;
      }
      for (; i + 64 <= bytes.length; i += 64) block(state, x, bytes, i);
      while (i < bytes.length) tail[tailLength++] = bytes[i++];
      return hasher;
    }

    function hex() {
      if (!done) {
        done = true;
        var bits = total * 8;
        var pad = new Uint8Array((tailLength < 56 ? 56 : 120) - tailLength + 8);
        pad[0] = 0x80;
        var n = pad.length - 8;
        for (var k = 0; k < 8; k++) {
          // Little-endian bit count; division keeps lengths past 2^32 bits exact.
          pad[n + k] = Math.floor(bits / Math.pow(2, 8 * k)) & 0xff;
        }
        done = false;
        update(pad);
        done = true;
      }
      var out = '';
      for (var w = 0; w < 4; w++) {
        for (var byteIndex = 0; byteIndex < 4; byteIndex++) {
          var v = (state[w] >>> (8 * byteIndex)) & 0xff;
          out += (v < 16 ? '0' : '') + v.toString(16);
        }
      }
      return out;
    }

    var hasher = { update: update, hex: hex };
    return hasher;
  }

  function md5(bytes) {
    return create().update(bytes).hex();
  }

  md5.create = create;
  root.qmkeysMd5 = md5;
})(typeof globalThis !== 'undefined' ? globalThis : this);
