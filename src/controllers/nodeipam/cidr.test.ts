import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CidrSet, formatCidr4, parseCidr4 } from './cidr.ts';

describe('CidrSet', () => {
  it('cuts 10.42.0.0/16 into /24s, skipping occupied ones', () => {
    const s = new CidrSet('10.42.0.0/16', 24);
    assert.equal(s.occupy('10.42.0.0/24'), true);
    assert.equal(s.occupy('10.43.0.0/24'), false);
    assert.equal(s.occupy('10.42.1.0/25'), false);
    assert.equal(s.allocateNext(), '10.42.1.0/24');
    assert.equal(s.allocateNext(), '10.42.2.0/24');
    s.release('10.42.1.0/24');
    // Round-robin: freed subnets are reused only after the rest.
    assert.equal(s.allocateNext(), '10.42.3.0/24');
  });
  it('runs out', () => {
    const s = new CidrSet('10.0.0.0/30', 31);
    assert.equal(s.allocateNext(), '10.0.0.0/31');
    assert.equal(s.allocateNext(), '10.0.0.2/31');
    assert.equal(s.allocateNext(), undefined);
  });
  it('parses and formats, clearing host bits; refuses bad input', () => {
    assert.equal(formatCidr4(parseCidr4('10.42.7.9/16')), '10.42.0.0/16');
    assert.throws(() => parseCidr4('10.42.0.0'), /invalid CIDR/);
    assert.throws(() => parseCidr4('300.1.1.1/8'), /invalid CIDR/);
    assert.throws(() => new CidrSet('10.42.0.0/16', 8), /does not fit/);
  });
});
