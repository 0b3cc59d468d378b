// Renders /openapi.json for people: every operation with its parameters and
// their constraints, the request body and every response with its schema.
// Plain DOM, text only (nothing from the document is parsed as HTML).
(function () {
  'use strict';

  var METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === 'text') node.textContent = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) {
        node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
      }
    });
    return node;
  }

  function resolve(doc, schema) {
    var seen = 0;
    while (schema && schema.$ref && seen++ < 20) {
      var path = schema.$ref.replace(/^#\//, '').split('/');
      schema = path.reduce(function (node, key) { return node ? node[key.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined; }, doc);
    }
    return schema || {};
  }

  function refName(schema) {
    return schema && schema.$ref ? schema.$ref.split('/').pop() : null;
  }

  function typeOf(doc, schema) {
    if (!schema) return '';
    var name = refName(schema);
    if (name) return name;
    if (schema.oneOf || schema.anyOf) {
      return (schema.oneOf || schema.anyOf).map(function (s) { return typeOf(doc, s); }).join(' | ');
    }
    var type = Array.isArray(schema.type) ? schema.type.join(' | ') : (schema.type || 'any');
    if (type === 'array') return typeOf(doc, schema.items) + '[]';
    return schema.format ? type + ' (' + schema.format + ')' : type;
  }

  function constraints(schema) {
    var out = [];
    if (!schema) return '';
    if (schema.pattern) out.push('pattern ' + schema.pattern);
    if (schema.minimum !== undefined) out.push('≥ ' + schema.minimum);
    if (schema.maximum !== undefined) out.push('≤ ' + schema.maximum);
    if (schema.minLength !== undefined) out.push('minLength ' + schema.minLength);
    if (schema.maxLength !== undefined) out.push('maxLength ' + schema.maxLength);
    if (schema['enum']) out.push('one of ' + schema['enum'].join(', '));
    return out.join('; ');
  }

  // An object schema as a table of its properties, nested objects indented.
  function schemaTable(doc, schema, depth) {
    schema = resolve(doc, schema);
    var variants = schema.oneOf || schema.anyOf;
    if (variants) {
      var concrete = variants.filter(function (s) { return resolve(doc, s).type !== 'null'; });
      if (concrete.length === 1) return schemaTable(doc, concrete[0], depth);
    }
    if (!schema.properties) {
      return el('p', {}, [el('code', { text: typeOf(doc, schema) }), ' ', constraints(schema)]);
    }
    var required = schema.required || [];
    var table = el('table', {}, [el('tr', {}, [
      el('th', { text: 'field' }), el('th', { text: 'type' }), el('th', { text: 'required' }), el('th', { text: 'constraints / description' })
    ])]);
    Object.keys(schema.properties).forEach(function (name) {
      var prop = schema.properties[name];
      var target = resolve(doc, prop);
      var cell = el('td', {}, [constraints(target), target.description ? el('div', { 'class': 'desc', text: target.description }) : null]);
      table.appendChild(el('tr', {}, [
        el('td', {}, [el('code', { text: name })]),
        el('td', {}, [el('code', { text: typeOf(doc, prop) })]),
        el('td', { text: required.indexOf(name) >= 0 ? 'yes' : '' }),
        cell
      ]));
      if (depth < 3 && (refName(prop) || (prop.oneOf || prop.anyOf))) {
        var nested = schemaTable(doc, prop, depth + 1);
        if (nested.tagName === 'TABLE') {
          table.appendChild(el('tr', {}, [el('td', {}), el('td', { colspan: '3' }, [nested])]));
        }
      }
    });
    return table;
  }

  function parameters(doc, op) {
    if (!op.parameters || !op.parameters.length) return null;
    var table = el('table', {}, [el('tr', {}, [
      el('th', { text: 'name' }), el('th', { text: 'in' }), el('th', { text: 'type' }),
      el('th', { text: 'required' }), el('th', { text: 'constraints' }), el('th', { text: 'description' })
    ])]);
    op.parameters.forEach(function (p) {
      var schema = resolve(doc, p.schema);
      table.appendChild(el('tr', {}, [
        el('td', {}, [el('code', { text: p.name })]),
        el('td', { text: p['in'] }),
        el('td', {}, [el('code', { text: typeOf(doc, p.schema) })]),
        el('td', { text: p.required ? 'yes' : '' }),
        el('td', {}, [el('code', { text: constraints(schema) })]),
        el('td', { 'class': 'desc', text: p.description || '' })
      ]));
    });
    return el('div', {}, [el('h4', { text: 'Parameters' }), table]);
  }

  function content(doc, body) {
    var parts = [];
    Object.keys(body || {}).forEach(function (type) {
      parts.push(el('div', {}, [el('code', { text: type }), schemaTable(doc, body[type].schema, 0)]));
    });
    return parts;
  }

  function operation(doc, path, method, op) {
    var section = el('section', { 'class': 'op', id: op.operationId || (method + path), 'data-path': path, 'data-method': method }, [
      el('h3', {}, [el('span', { 'class': 'verb ' + method, text: method }), path]),
      op.summary ? el('strong', { text: op.summary }) : null,
      op.description ? el('p', { 'class': 'desc', text: op.description }) : null,
      parameters(doc, op)
    ]);
    if (op.requestBody) {
      section.appendChild(el('h4', { text: 'Request body' }));
      content(doc, op.requestBody.content).forEach(function (n) { section.appendChild(n); });
    }
    section.appendChild(el('h4', { text: 'Responses' }));
    Object.keys(op.responses || {}).forEach(function (status) {
      var r = resolve(doc, op.responses[status]);
      var details = el('details', { 'data-status': status }, [
        el('summary', {}, [el('strong', { text: status }), ' ', (r.description || '').split('\n')[0]]),
        el('p', { 'class': 'desc', text: r.description || '' })
      ]);
      if (r.headers) {
        Object.keys(r.headers).forEach(function (h) {
          details.appendChild(el('p', {}, ['header ', el('code', { text: h }), ' ', r.headers[h].description || '']));
        });
      }
      content(doc, r.content).forEach(function (n) { details.appendChild(n); });
      section.appendChild(details);
    });
    return section;
  }

  // `code` spans as code, everything else as text.
  function inline(text) {
    var span = el('span');
    text.split('`').forEach(function (part, i) {
      span.appendChild(i % 2 ? el('code', { text: part }) : document.createTextNode(part));
    });
    return span;
  }

  // The little Markdown the document uses: paragraphs and pipe tables.
  function markdown(text) {
    var root = el('div', { 'class': 'intro' });
    text.split(/\n\s*\n/).forEach(function (block) {
      var lines = block.trim().split('\n');
      if (lines.length > 1 && lines.every(function (l) { return /^\|.*\|$/.test(l.trim()); })) {
        var table = el('table');
        lines.forEach(function (line, i) {
          if (/^\|[\s\-:|]+\|$/.test(line.trim())) return;
          var row = el('tr');
          line.trim().slice(1, -1).split('|').forEach(function (cell) {
            var c = el(i === 0 ? 'th' : 'td');
            c.appendChild(inline(cell.trim()));
            row.appendChild(c);
          });
          table.appendChild(row);
        });
        root.appendChild(table);
      } else {
        var p = el('p');
        p.appendChild(inline(block.trim()));
        root.appendChild(p);
      }
    });
    return root;
  }

  function render(doc) {
    var root = document.getElementById('docs');
    root.textContent = '';
    root.appendChild(el('h1', { text: doc.info.title + ' ' + doc.info.version }));
    root.appendChild(el('p', { text: 'OpenAPI ' + doc.openapi }));
    root.appendChild(markdown(doc.info.description || ''));
    Object.keys(doc.paths).forEach(function (path) {
      METHODS.forEach(function (method) {
        var op = doc.paths[path][method];
        if (op) root.appendChild(operation(doc, path, method, op));
      });
    });
    root.setAttribute('data-state', 'done');
  }

  fetch('/openapi.json')
    .then(function (r) { return r.json(); })
    .then(render)
    .catch(function (e) {
      var root = document.getElementById('docs');
      root.textContent = '无法读取 /openapi.json / cannot read /openapi.json: ' + e.message;
      root.setAttribute('data-state', 'error');
    });
})();
