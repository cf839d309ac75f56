import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { colourEnabled, colourStatus, colourTable } from './colour.ts';

describe('colour', () => {
  it('is off when piped, with NO_COLOR or a dumb terminal', () => {
    assert.equal(colourEnabled({ isTTY: true }, {}), true);
    assert.equal(colourEnabled({ isTTY: false }, {}), false);
    assert.equal(colourEnabled({ isTTY: true }, { NO_COLOR: '1' }), false);
    assert.equal(colourEnabled({ isTTY: true }, { TERM: 'dumb' }), false);
  });

  it('colours statuses by health', () => {
    assert.equal(colourStatus('Running'), '\x1b[32mRunning\x1b[0m');
    assert.equal(colourStatus('Pending'), '\x1b[33mPending\x1b[0m');
    assert.equal(colourStatus('CrashLoopBackOff'), '\x1b[31mCrashLoopBackOff\x1b[0m');
    assert.equal(colourStatus('Whatever'), 'Whatever');
  });

  it('colours the STATUS column only and keeps the alignment of the visible text', () => {
    const table = 'NAME   READY   STATUS    RESTARTS   AGE\nweb    1/1     Running   0          1m\ndb     0/1     Pending   0          1m\n';
    const out = colourTable(table);
    assert.equal(out.replace(/\x1b\[\d+m/g, ''), table);
    assert.ok(out.includes('\x1b[32mRunning\x1b[0m   0'));
    assert.ok(out.includes('\x1b[33mPending\x1b[0m'));
    assert.ok(out.startsWith('NAME   READY   STATUS'));
  });
});

describe('colourTable with several tables', () => {
  it('uses each table\'s own header', () => {
    const text = 'NAME   STATUS\na      Running\n\nNAME      TYPE        X\nsvc       ClusterIP   1\n';
    const out = colourTable(text);
    assert.equal(out.replace(/\x1b\[\d+m/g, ''), text);
    assert.ok(out.includes('\x1b[32mRunning'));
  });
});
