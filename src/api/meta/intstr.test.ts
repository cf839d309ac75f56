import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fieldErrorMessage } from './field-errors.ts';
import { getIntOrPercentValue, validateIntOrPercent, validateNotMoreThan100Percent } from './intstr.ts';

void describe('getIntOrPercentValue', () => {
  void it('follows upstream TestGetIntFromIntOrPercent', () => {
    assert.equal(getIntOrPercentValue(123, 0, false), 123);
    assert.equal(getIntOrPercentValue('90%', 100, true), 90);
    assert.equal(getIntOrPercentValue('90%', 95, true), 86);
    assert.equal(getIntOrPercentValue('90%', 95, false), 85);
    for (const bad of ['%', '90#', '#%', '90']) assert.throws(() => getIntOrPercentValue(bad, 100, true), Error, bad);
  });

  void it('rounds as deployments need for maxSurge (up) and maxUnavailable (down)', () => {
    assert.equal(getIntOrPercentValue('25%', 3, true), 1);
    assert.equal(getIntOrPercentValue('25%', 3, false), 0);
    assert.equal(getIntOrPercentValue('0%', 10, true), 0);
  });

  void it('words errors as upstream', () => {
    assert.throws(() => getIntOrPercentValue('90', 1, true), { message: 'invalid value for IntOrString: invalid type: string is not a percentage' });
    assert.throws(() => getIntOrPercentValue('#%', 1, true), {
      message: 'invalid value for IntOrString: invalid value "#%": strconv.Atoi: parsing "#": invalid syntax',
    });
  });
});

void describe('validateIntOrPercent', () => {
  void it('accepts non-negative integers and percentages', () => {
    for (const v of [0, 1, 100, '0%', '25%', '150%', undefined]) assert.deepEqual(validateIntOrPercent(v, 'spec.strategy.rollingUpdate.maxSurge'), []);
  });

  void it('rejects negatives and malformed percentages', () => {
    assert.deepEqual(validateIntOrPercent(-1, 'f').map(fieldErrorMessage), ['f: Invalid value: -1: must be greater than or equal to 0']);
    assert.deepEqual(validateIntOrPercent('25', 'f').map(fieldErrorMessage), [
      "f: Invalid value: \"25\": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
    ]);
    assert.equal(validateIntOrPercent(1.5, 'f').length, 1);
  });

  void it('validateNotMoreThan100Percent', () => {
    assert.deepEqual(validateNotMoreThan100Percent('100%', 'f'), []);
    assert.deepEqual(validateNotMoreThan100Percent(150, 'f'), []);
    assert.deepEqual(validateNotMoreThan100Percent('101%', 'f').map(fieldErrorMessage), ['f: Invalid value: "101%": must not be greater than 100%']);
  });
});
