/* node-red-contrib-iopi: editor helpers, loaded by nodes/*.html as resources/node-red-contrib-iopi/iopi-editor.js */
(function () {
    // Editor helpers shared by the iopi nodes' forms (window.iopiEditor). Node-RED serves this module's
    // resources/ folder; every iopi .html loads this file first (a node set can be disabled on its own),
    // so it may run more than once: the first run defines window.iopiEditor, later ones return.
    var VERSION = 2;
    if (window.iopiEditor && window.iopiEditor.version === VERSION) return;
    var E = window.iopiEditor = { version: VERSION };

    /** Integer from a number, a decimal string or a 0x-hex string; null otherwise. */
    E.toInt = function (v) {
        if (typeof v === 'number') return Number.isInteger(v) ? v : null;
        if (typeof v !== 'string') return null;
        var s = v.trim();
        if (/^\d+$/.test(s)) return Number(s);
        if (/^0x[0-9a-f]+$/i.test(s)) return parseInt(s.slice(2), 16);
        return null;
    };
    E.isBool = function (v) {
        return v === true || v === false || v === 'true' || v === 'false';
    };
    /** Translation in the catalogue of a node type's set (works in validators, labels and forms). */
    E.t = function (type, key, opts) {
        var def = RED.nodes.getType(type);
        return def && def._ ? def._(type + '.' + key, opts) : type + '.' + key;
    };
    /** "0x20" for an address 32-39, else null. */
    E.hex = function (address) {
        var n = E.toInt(address);
        return n !== null && n >= 0x20 && n <= 0x27 ? '0x' + n.toString(16) : null;
    };
    /** The address text of a node's chip config node, or null when unknown. */
    E.chipAddress = function (node) {
        var chip = node && node.chip ? RED.nodes.node(node.chip) : null;
        return chip ? E.hex(chip.address) : null;
    };
    /** "GPA0".."GPB7" for pins 1-16. */
    E.pinName = function (pin) {
        return pin <= 8 ? 'GPA' + (pin - 1) : 'GPB' + (pin - 9);
    };
    /** 16-bit mask of a pin list (bit k = pin k+1) and back. */
    E.maskOf = function (pins) {
        var mask = 0;
        (pins || []).forEach(function (p) { if (p >= 1 && p <= 16) mask |= 1 << (p - 1); });
        return mask;
    };
    E.pinsOf = function (mask) {
        var pins = [];
        for (var p = 1; p <= 16; p++) if (mask & (1 << (p - 1))) pins.push(p);
        return pins;
    };
    /**
     * A stored pin list as the runtime reads it: an array of numbers (or digit strings), one number,
     * or "1,2,5" text. Returns the numbers (not range-checked) or null when it is not such a list.
     */
    E.toPinList = function (v) {
        var items;
        if (Array.isArray(v)) items = v;
        else if (typeof v === 'number') items = [v];
        else if (typeof v === 'string' && v.trim() !== '') items = v.split(',');
        else return null;
        var out = [];
        for (var i = 0; i < items.length; i++) {
            var item = typeof items[i] === 'string' ? items[i].trim() : items[i];
            if (typeof item === 'string' && /^\d+$/.test(item)) item = Number(item);
            if (typeof item !== 'number' || !Number.isInteger(item)) return null;
            out.push(item);
        }
        return out;
    };
    /** true, or {key, pin} (key below <type>.errors.) for what is wrong with a list of pin numbers. */
    E.checkPinNumbers = function (pins) {
        if (pins.length === 0) return { key: 'pins' };
        var seen = {};
        for (var i = 0; i < pins.length; i++) {
            var p = pins[i];
            if (p < 1 || p > 16) return { key: 'pinRange', pin: p };
            if (seen[p]) return { key: 'pinDuplicate', pin: p };
            seen[p] = true;
        }
        return true;
    };
    /** true, or {key, pin} for a stored pin list (see toPinList). */
    E.checkPins = function (v) {
        var list = E.toPinList(v);
        if (list === null) return v === undefined || v === null || v === '' || (Array.isArray(v) && !v.length) ? { key: 'pins' } : { key: 'pinSyntax' };
        return E.checkPinNumbers(list);
    };
    /** Validator result for a stored pin list: true or the translated message. */
    E.pinsValid = function (type, v) {
        var ok = E.checkPins(v);
        return ok === true || E.t(type, 'errors.' + ok.key, { pin: ok.pin });
    };
    /**
     * Pins typed in the form: "1, 3, 5-7" (commas or spaces, ranges allowed).
     * Returns {pins: numbers or null when the text is not a list, error: null or {key, pin}}.
     */
    E.parsePinText = function (text) {
        var tokens = String(text === undefined || text === null ? '' : text).replace(/\s*-\s*/g, '-').split(/[\s,;]+/).filter(Boolean);
        var pins = [];
        for (var i = 0; i < tokens.length; i++) {
            var m = /^(\d+)(?:-(\d+))?$/.exec(tokens[i]);
            if (!m) return { pins: null, error: { key: 'pinSyntax' } };
            var a = Number(m[1]);
            var b = m[2] === undefined ? a : Number(m[2]);
            if (b < a || b - a > 15) return { pins: null, error: { key: 'pinSyntax' } };
            for (var p = a; p <= b; p++) pins.push(p);
        }
        var ok = E.checkPinNumbers(pins);
        return { pins: pins, error: ok === true ? null : ok };
    };
    /** "1-8", "1, 3, 5-7" */
    E.pinSummary = function (pins) {
        if (!Array.isArray(pins)) return '';
        var list = pins.filter(function (p) { return typeof p === 'number'; }).slice().sort(function (a, b) { return a - b; });
        var parts = [];
        for (var i = 0; i < list.length; i++) {
            var start = list[i];
            while (i + 1 < list.length && list[i + 1] === list[i] + 1) i++;
            parts.push(list[i] === start ? String(start) : list[i] === start + 1 ? start + ', ' + list[i] : start + '-' + list[i]);
        }
        return parts.join(', ');
    };
    /** Pin masks a node claims from its saved properties: {in, out}, as the runtime claims them. */
    E.claims = function (n) {
        var list = function (v) {
            var pins = E.toPinList(v);
            return pins && E.checkPinNumbers(pins) === true ? pins : [];
        };
        if (n.type === 'iopi-in') {
            var mask = n.target === 'port0' ? 0x00ff : n.target === 'port1' ? 0xff00 : n.target === 'all' ? 0xffff : E.maskOf(list(n.pins));
            return { in: mask, out: 0 };
        }
        if (n.type === 'iopi-out') {
            var port = E.toInt(n.port) === 1 ? 0xff00 : 0x00ff;
            var pins = list(n.pins);
            var out = n.target === 'port' ? port : n.target === 'bus' ? 0xffff : n.target === 'pins' ? E.maskOf(pins) : E.maskOf(pins.slice(0, 1));
            return { in: 0, out: out };
        }
        if (n.type === 'iopi-setup' && Array.isArray(n.pinConfig)) {
            var claims = { in: 0, out: 0 };
            n.pinConfig.forEach(function (p, i) {
                if (p && (p.use === true || p.use === 'true' || p.use === 1) && i < 16) claims[p.dir === 'out' ? 'out' : 'in'] |= 1 << i;
            });
            return claims;
        }
        return { in: 0, out: 0 };
    };
    /**
     * Other deployed-to-be nodes on chip `chipId` that use pins of `own` ({in, out} masks) in the other
     * direction (what the runtime reports as "pin conflict"). Disabled nodes and flows are skipped.
     * Returns [{node, label, pins, direction: 'in'|'out' (the other node's use)}].
     */
    E.conflicts = function (chipId, selfId, own) {
        var found = [];
        if (!chipId || chipId === '_ADD_') return found;
        RED.nodes.eachNode(function (n) {
            if (n.id === selfId || n.chip !== chipId || n.d === true || !/^iopi-(in|out|setup)$/.test(n.type)) return;
            var ws = n.z ? RED.nodes.workspace(n.z) : null;
            if (ws && ws.disabled) return;
            var c = E.claims(n);
            var label = RED.utils.getNodeLabel(n, n.type);
            if (own.in & c.out) found.push({ node: n, label: label, pins: E.pinsOf(own.in & c.out), direction: 'out' });
            if (own.out & c.in) found.push({ node: n, label: label, pins: E.pinsOf(own.out & c.in), direction: 'in' });
        });
        return found;
    };
    /** Shows conflicts in `element` (one line each) and returns the mask of the pins concerned. */
    E.showConflicts = function (element, type, list) {
        var mask = 0;
        var box = $(element).empty();
        list.forEach(function (c) {
            mask |= E.maskOf(c.pins);
            var key = 'conflict.' + c.direction + (c.pins.length === 1 ? 'One' : '');
            $('<div>').text(E.t(type, key, { pins: E.pinSummary(c.pins), node: c.label })).appendTo(box);
        });
        box.toggle(list.length > 0);
        return mask;
    };
    /**
     * A clickable 16-pin grid (two rows of 8: pins 1-8 = GPA0-7, pins 9-16 = GPB0-7) with a text box
     * ("1, 3, 5-7") kept in step, in `container`. Cells: `.iopi-pin-grid [data-pin="N"]` (class
     * `selected` when on, `iopi-pin-conflict` when another node uses the pin in the other direction);
     * text box `.iopi-pin-grid input.iopi-pins-text` (id `options.textId`).
     * options: {type, selected, onChange(pins or null, error), textId}.
     * Returns {element, read() (selected cells), value() (the pins to save: numbers, or the typed
     * text when it is not a list), error(), set(pins), mark(conflictMask)}.
     */
    E.pinGrid = function (container, options) {
        var type = options.type;
        var grid = $('<div class="iopi-pin-grid">').appendTo($(container).empty());
        var text;
        var parsed;
        var read = function () {
            return grid.find('.iopi-pin.selected').map(function () { return Number($(this).attr('data-pin')); }).get();
        };
        var select = function (pins) {
            grid.find('.iopi-pin').each(function () {
                $(this).toggleClass('selected', pins.indexOf(Number($(this).attr('data-pin'))) >= 0);
            });
        };
        var showError = function () {
            var bad = parsed.error !== null;
            text.toggleClass('input-error', bad);
            grid.toggleClass('iopi-invalid', bad);
        };
        var changed = function () {
            if (options.onChange) options.onChange(parsed.pins, parsed.error);
        };
        // After a click: the text follows the cells.
        var fromCells = function () {
            var pins = read();
            text.val(E.pinSummary(pins));
            parsed = E.parsePinText(text.val());
            showError();
            changed();
        };
        // After typing: the cells follow the text when it is a list of pins 1-16.
        var fromText = function () {
            parsed = E.parsePinText(text.val());
            if (parsed.pins) select(parsed.pins.filter(function (p) { return p >= 1 && p <= 16; }));
            showError();
            changed();
        };
        for (var row = 0; row < 2; row++) {
            var line = $('<div class="iopi-pin-row">').attr('data-port', row).appendTo(grid);
            $('<button type="button" class="red-ui-button red-ui-button-small iopi-pin-port">')
                .attr('data-port', row)
                .text(E.t(type, 'grid.port' + row))
                .attr('title', E.t(type, 'grid.portTitle', { port: row }))
                .on('click', (function (r) {
                    return function () {
                        var cells = grid.find('.iopi-pin-row[data-port="' + r + '"] .iopi-pin');
                        var all = cells.filter('.selected').length === cells.length;
                        cells.toggleClass('selected', !all);
                        fromCells();
                    };
                })(row))
                .appendTo(line);
            for (var k = 1; k <= 8; k++) {
                var pin = row * 8 + k;
                $('<button type="button" class="red-ui-button iopi-pin">')
                    .attr('data-pin', pin)
                    .attr('title', E.t(type, 'grid.cellTitle', { pin: pin, name: E.pinName(pin) }))
                    .append($('<span class="iopi-pin-num">').text(String(pin)))
                    .append($('<span class="iopi-pin-name">').text(E.pinName(pin)))
                    .on('click', function () {
                        $(this).toggleClass('selected');
                        fromCells();
                    })
                    .appendTo(line);
            }
        }
        var tools = $('<div class="iopi-pin-tools">').appendTo(grid);
        $('<button type="button" class="red-ui-button red-ui-button-small iopi-pin-all">').text(E.t(type, 'grid.all'))
            .on('click', function () { grid.find('.iopi-pin').addClass('selected'); fromCells(); }).appendTo(tools);
        $('<button type="button" class="red-ui-button red-ui-button-small iopi-pin-none">').text(E.t(type, 'grid.none'))
            .on('click', function () { grid.find('.iopi-pin').removeClass('selected'); fromCells(); }).appendTo(tools);
        text = $('<input type="text" class="iopi-pins-text" autocomplete="off">')
            .attr('id', options.textId || null)
            .attr('placeholder', E.t(type, 'grid.textPlaceholder'))
            .attr('title', E.t(type, 'grid.textTitle'))
            .on('input change', fromText)
            .appendTo(tools);
        $('<div class="iopi-pin-hint">').text(E.t(type, 'grid.gridHint')).appendTo(grid);

        // The stored value: a list of numbers normally; anything else is shown as text (and flagged).
        var stored = E.toPinList(options.selected);
        if (stored === null) text.val(options.selected === undefined || options.selected === null ? '' : String(options.selected));
        else if (E.checkPinNumbers(stored) === true) text.val(E.pinSummary(stored));
        else text.val(stored.join(', ')); // duplicates and pins out of range stay visible (and flagged)
        parsed = E.parsePinText(text.val());
        select(parsed.pins ? parsed.pins : []);
        showError();

        return {
            element: grid,
            read: read,
            error: function () { return parsed.error; },
            value: function () { return parsed.pins !== null ? parsed.pins.slice().sort(function (a, b) { return a - b; }) : text.val(); },
            set: function (pins) { select(pins); fromCells(); },
            mark: function (mask) {
                grid.find('.iopi-pin').each(function () {
                    var p = Number($(this).attr('data-pin'));
                    $(this).toggleClass('iopi-pin-conflict', (mask & (1 << (p - 1))) !== 0);
                });
            }
        };
    };
    /** Styles of the forms (added to the page once). */
    if (!document.getElementById('iopi-editor-style')) {
        $('<style id="iopi-editor-style">').text([
            '.iopi-form .form-row input[type=checkbox].iopi-check { display: inline-block; width: auto; vertical-align: middle; margin: 0 5px 2px 0; }',
            '.iopi-form .form-row label.iopi-check-label { width: auto; margin: 0 14px 0 0; vertical-align: middle; cursor: pointer; }',
            '.iopi-form .iopi-disabled { opacity: 0.5; }',
            '.iopi-form .iopi-hint { font-size: 0.9em; color: var(--red-ui-secondary-text-color, #888); }',
            '.iopi-form .iopi-indent { margin-left: 104px; }',
            '.iopi-form .iopi-error-text { color: var(--red-ui-text-color-error, #d6615f); font-size: 0.9em; }',
            '.iopi-form .iopi-warn-text { color: var(--red-ui-text-color-warning, #b8860b); font-size: 0.9em; }',
            '.iopi-pin-grid { display: inline-block; }',
            '.iopi-pin-row { display: flex; align-items: stretch; gap: 3px; margin-bottom: 3px; }',
            '.iopi-pin-grid .iopi-pin-port { width: 52px; padding: 0 2px; }',
            '.iopi-pin-grid .iopi-pin { position: relative; width: 42px; height: 36px; padding: 1px 0; display: flex; flex-direction: column; align-items: center; justify-content: center; line-height: 14px; }',
            '.iopi-pin-grid .iopi-pin .iopi-pin-num { font-weight: bold; font-size: 13px; }',
            '.iopi-pin-grid .iopi-pin .iopi-pin-name { font-size: 9px; opacity: 0.8; }',
            '.iopi-pin-grid button.red-ui-button.iopi-pin.selected:not(.disabled):not(:disabled) { background: #3a9b84; border-color: #2c7a67; color: #fff !important; }',
            '.iopi-pin-grid button.red-ui-button.iopi-pin.selected:not(.disabled):not(:disabled):hover { background: #2f8871; }',
            '.iopi-pin-grid .iopi-pin.iopi-pin-conflict::after { content: ""; position: absolute; top: 2px; right: 2px; width: 7px; height: 7px; border-radius: 50%; background: #e0a000; }',
            '.iopi-pin-grid .iopi-pin.iopi-pin-conflict.selected { box-shadow: inset 0 0 0 2px #e0a000; }',
            '.iopi-pin-grid.iopi-invalid .iopi-pin { border-color: var(--red-ui-form-input-border-error-color, #d6615f); }',
            '.iopi-pin-tools { margin-top: 4px; display: flex; gap: 4px; align-items: center; }',
            '.iopi-form .form-row .iopi-pin-tools input.iopi-pins-text { width: 200px; height: 26px; padding: 2px 6px; font-size: 0.95em; }',
            '.iopi-pin-grid .iopi-pin-hint { font-size: 0.85em; color: var(--red-ui-secondary-text-color, #888); margin-top: 3px; white-space: normal; max-width: 420px; }',
            '.iopi-setup-grid { border-collapse: collapse; width: 100%; }',
            '.iopi-setup-grid th { font-size: 0.85em; font-weight: normal; color: var(--red-ui-secondary-text-color, #888); text-align: center; padding: 2px 3px; }',
            '.iopi-setup-grid td { text-align: center; padding: 1px 3px; border-top: 1px solid var(--red-ui-secondary-border-color, #ddd); }',
            '.iopi-setup-grid tr.iopi-port-start td { border-top: 2px solid var(--red-ui-primary-border-color, #bbb); }',
            '.iopi-setup-grid td.iopi-pin-label { text-align: left; white-space: nowrap; }',
            '.iopi-setup-grid td.iopi-pin-label b { display: inline-block; width: 20px; }',
            '.iopi-setup-grid tr.iopi-row-conflict td.iopi-pin-label, .iopi-setup-grid tr.iopi-row-warn td.iopi-pin-label { color: var(--red-ui-text-color-warning, #b8860b); }',
            '.iopi-setup-grid td.iopi-pin-label i.fa { margin-left: 3px; display: none; }',
            '.iopi-setup-grid tr.iopi-row-conflict td.iopi-pin-label i.fa, .iopi-setup-grid tr.iopi-row-warn td.iopi-pin-label i.fa { display: inline; }',
            '.iopi-form .form-row .iopi-setup-grid input[type=checkbox] { width: auto; margin: 0; vertical-align: middle; }',
            '.iopi-form .form-row .iopi-setup-grid select { width: auto; height: 26px; padding: 0 2px; margin: 1px 0; font-size: 0.9em; }',
            '.iopi-setup-grid tr.iopi-unused td:not(.iopi-pin-label):not(.iopi-use-cell) { opacity: 0.35; }'
        ].join('\n')).appendTo('head');
    }
})();
