import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ErrFormatWrong, ErrNumeric, ErrSuffix, Quantity, QuantityParseError, isValidQuantity, newMilliQuantity, newQuantity, parseQuantity,
} from './quantity.ts';
import type { QuantityFormat } from './quantity.ts';

// Fixtures from k8s.io/apimachinery/pkg/api/resource/quantity_test.go.

// decQuantity(i, exponent, format) of the upstream tests.
const dec = (i: number | bigint, exponent: number, format: QuantityFormat): Quantity => Quantity.fromDecimal(BigInt(i), exponent, format);
const maxInt64 = 2n ** 63n - 1n;

void describe('parseQuantity', () => {
  const table: [string, Quantity][] = [
    ['0', dec(0, 0, 'DecimalSI')], ['0n', dec(0, 0, 'DecimalSI')], ['0u', dec(0, 0, 'DecimalSI')], ['0m', dec(0, 0, 'DecimalSI')],
    ['0Ki', dec(0, 0, 'BinarySI')], ['0k', dec(0, 0, 'DecimalSI')], ['0Mi', dec(0, 0, 'BinarySI')], ['0M', dec(0, 0, 'DecimalSI')],
    ['0Gi', dec(0, 0, 'BinarySI')], ['0G', dec(0, 0, 'DecimalSI')], ['0Ti', dec(0, 0, 'BinarySI')], ['0T', dec(0, 0, 'DecimalSI')],
    ['1', dec(1, 0, 'DecimalSI')],
    ['1Ki', dec(1024, 0, 'BinarySI')], ['8Ki', dec(8 * 1024, 0, 'BinarySI')], ['7Mi', dec(7 * 1024 * 1024, 0, 'BinarySI')],
    ['6Gi', dec(6n * 1024n ** 3n, 0, 'BinarySI')], ['5Ti', dec(5n * 1024n ** 4n, 0, 'BinarySI')], ['4Pi', dec(4n * 1024n ** 5n, 0, 'BinarySI')],
    ['3Ei', dec(3n * 1024n ** 6n, 0, 'BinarySI')], ['10Ti', dec(10n * 1024n ** 4n, 0, 'BinarySI')], ['100Ti', dec(100n * 1024n ** 4n, 0, 'BinarySI')],
    ['5n', dec(5, -9, 'DecimalSI')], ['4u', dec(4, -6, 'DecimalSI')], ['3m', dec(3, -3, 'DecimalSI')], ['9', dec(9, 0, 'DecimalSI')],
    ['8k', dec(8, 3, 'DecimalSI')], ['50k', dec(5, 4, 'DecimalSI')], ['7M', dec(7, 6, 'DecimalSI')], ['6G', dec(6, 9, 'DecimalSI')],
    ['5T', dec(5, 12, 'DecimalSI')], ['40T', dec(4, 13, 'DecimalSI')], ['300T', dec(3, 14, 'DecimalSI')], ['2P', dec(2, 15, 'DecimalSI')],
    ['1E', dec(1, 18, 'DecimalSI')],
    ['1E-3', dec(1, -3, 'DecimalExponent')], ['1e3', dec(1, 3, 'DecimalExponent')], ['1E6', dec(1, 6, 'DecimalExponent')],
    ['1e9', dec(1, 9, 'DecimalExponent')], ['1E12', dec(1, 12, 'DecimalExponent')], ['1e15', dec(1, 15, 'DecimalExponent')],
    ['1E18', dec(1, 18, 'DecimalExponent')], ['1e14', dec(1, 14, 'DecimalExponent')], ['1e13', dec(1, 13, 'DecimalExponent')],
    ['100.035k', dec(100035, 0, 'DecimalSI')],
    ['0.001', dec(1, -3, 'DecimalSI')], ['0.0005k', dec(5, -1, 'DecimalSI')], ['0.005', dec(5, -3, 'DecimalSI')], ['0.05', dec(5, -2, 'DecimalSI')],
    ['0.5', dec(5, -1, 'DecimalSI')], ['0.00050k', dec(5, -1, 'DecimalSI')], ['0.00500', dec(5, -3, 'DecimalSI')], ['0.05000', dec(5, -2, 'DecimalSI')],
    ['0.50000', dec(5, -1, 'DecimalSI')], ['0.5e0', dec(5, -1, 'DecimalExponent')], ['0.5e-1', dec(5, -2, 'DecimalExponent')],
    ['0.5e-2', dec(5, -3, 'DecimalExponent')], ['10.035M', dec(10035, 3, 'DecimalSI')],
    ['1.2e3', dec(12, 2, 'DecimalExponent')], ['1.3E+6', dec(13, 5, 'DecimalExponent')], ['1.40e9', dec(14, 8, 'DecimalExponent')],
    ['1.53E12', dec(153, 10, 'DecimalExponent')], ['1.6e15', dec(16, 14, 'DecimalExponent')], ['1.7E18', dec(17, 17, 'DecimalExponent')],
    ['9.01', dec(901, -2, 'DecimalSI')], ['8.1k', dec(81, 2, 'DecimalSI')], ['7.123456M', dec(7123456, 0, 'DecimalSI')],
    ['6.987654321G', dec(6987654321, 0, 'DecimalSI')], ['5.444T', dec(5444, 9, 'DecimalSI')], ['40.1T', dec(401, 11, 'DecimalSI')],
    ['300.2T', dec(3002, 11, 'DecimalSI')], ['2.5P', dec(25, 14, 'DecimalSI')], ['1.01E', dec(101, 16, 'DecimalSI')],
    ['3.001n', dec(4, -9, 'DecimalSI')], ['1.1E-9', dec(2, -9, 'DecimalExponent')], ['0.0000000001', dec(1, -9, 'DecimalSI')],
    ['0.0000000005', dec(1, -9, 'DecimalSI')], ['0.00000000050', dec(1, -9, 'DecimalSI')], ['0.5e-9', dec(1, -9, 'DecimalExponent')],
    ['0.9n', dec(1, -9, 'DecimalSI')], ['0.00000012345', dec(124, -9, 'DecimalSI')], ['0.00000012354', dec(124, -9, 'DecimalSI')],
    ['9Ei', dec(maxInt64, 0, 'BinarySI')], ['9223372036854775807Ki', dec(maxInt64, 0, 'BinarySI')], ['12E', dec(12, 18, 'DecimalSI')],
    ['100.035Ki', dec(10243584, -2, 'BinarySI')], ['0.5Mi', dec(0.5 * 1024 * 1024, 0, 'BinarySI')], ['0.05Gi', dec(536870912, -1, 'BinarySI')],
    ['0.025Ti', dec(274877906944, -1, 'BinarySI')],
    ['0.000000000001Ki', dec(2, -9, 'DecimalSI')], ['.001', dec(1, -3, 'DecimalSI')], ['.0001k', dec(100, -3, 'DecimalSI')],
    ['1.', dec(1, 0, 'DecimalSI')], ['1.G', dec(1, 9, 'DecimalSI')],
  ];

  void it('parses the upstream TestQuantityParse table (value and format), also negated and with +', () => {
    for (const [input, want] of table) {
      const got = parseQuantity(input);
      assert.equal(got.cmp(want), 0, `${input}: got ${got.toString()}, want ${want.toString()}`);
      assert.equal(got.format, want.format, input);
      const neg = parseQuantity(`-${input}`);
      assert.equal(neg.cmp(want.neg()), 0, `-${input}`);
      assert.equal(neg.format, want.format, `-${input}`);
      assert.equal(parseQuantity(`+${input}`).cmp(want), 0, `+${input}`);
    }
  });

  void it('rejects the upstream invalid inputs', () => {
    assert.throws(() => parseQuantity(''), QuantityParseError);
    for (const s of ['1.1.M', '1+1.0M', '0.1mi', '0.1am', 'aoeu', '.5i', '1i', '-3.01i', '-3.01e-', ' 1', '1 ']) {
      assert.throws(() => parseQuantity(s), QuantityParseError, s);
      assert.equal(isValidQuantity(s), false, s);
    }
  });

  void it('uses upstream error messages', () => {
    assert.throws(() => parseQuantity('aoeu'), { message: ErrFormatWrong });
    assert.equal(ErrFormatWrong, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
    assert.throws(() => parseQuantity('1i'), { message: ErrSuffix });
    assert.ok(ErrNumeric.length > 0);
  });
});

void describe('Quantity.toString', () => {
  void it('formats the upstream TestQuantityString table, parses back canonically, and negates', () => {
    const table: [Quantity, string, string][] = [
      [dec(1024 * 1024 * 1024, 0, 'BinarySI'), '1Gi', '1024Mi'], [dec(300 * 1024 * 1024, 0, 'BinarySI'), '300Mi', '307200Ki'],
      [dec(6 * 1024, 0, 'BinarySI'), '6Ki', ''], [dec(1001n * 1024n ** 3n, 0, 'BinarySI'), '1001Gi', '1025024Mi'],
      [dec(1024n ** 4n, 0, 'BinarySI'), '1Ti', '1024Gi'], [dec(5, 0, 'BinarySI'), '5', '5000m'], [dec(500, -3, 'BinarySI'), '500m', '0.5'],
      [dec(1, 9, 'DecimalSI'), '1G', '1000M'], [dec(1000, 6, 'DecimalSI'), '1G', '0.001T'], [dec(1000000, 3, 'DecimalSI'), '1G', ''],
      [dec(1000000000, 0, 'DecimalSI'), '1G', ''], [dec(1, -3, 'DecimalSI'), '1m', '1000u'], [dec(80, -3, 'DecimalSI'), '80m', ''],
      [dec(1080, -3, 'DecimalSI'), '1080m', '1.08'], [dec(108, -2, 'DecimalSI'), '1080m', '1080000000n'], [dec(10800, -4, 'DecimalSI'), '1080m', ''],
      [dec(300, 6, 'DecimalSI'), '300M', ''], [dec(1, 12, 'DecimalSI'), '1T', ''], [dec(1, 18, 'DecimalSI'), '1E', ''],
      [dec(1, 21, 'DecimalSI'), '1e21', '1000E'], [dec(5, 21, 'DecimalSI'), '5e21', '5000E'], [dec(1, 24, 'DecimalSI'), '1e24', '1000000E'],
      [dec(1234567, 6, 'DecimalSI'), '1234567M', ''], [dec(1234567, -3, 'BinarySI'), '1234567m', ''], [dec(3, 3, 'DecimalSI'), '3k', ''],
      [dec(1025, 0, 'BinarySI'), '1025', ''], [dec(0, 0, 'DecimalSI'), '0', ''], [dec(0, 0, 'BinarySI'), '0', ''],
      [dec(1, 9, 'DecimalExponent'), '1e9', '.001e12'], [dec(1, -3, 'DecimalExponent'), '1e-3', '0.001e0'],
      [dec(1, -9, 'DecimalExponent'), '1e-9', '1000e-12'], [dec(80, -3, 'DecimalExponent'), '80e-3', ''],
      [dec(300, 6, 'DecimalExponent'), '300e6', ''], [dec(1, 12, 'DecimalExponent'), '1e12', ''], [dec(1, 3, 'DecimalExponent'), '1e3', ''],
      [dec(3, 3, 'DecimalExponent'), '3e3', ''], [dec(0, 0, 'DecimalExponent'), '0', '00'], [dec(1, -9, 'DecimalSI'), '1n', ''],
      [dec(80, -9, 'DecimalSI'), '80n', ''], [dec(1080, -9, 'DecimalSI'), '1080n', ''], [dec(108, -8, 'DecimalSI'), '1080n', ''],
      [dec(10800, -10, 'DecimalSI'), '1080n', ''], [dec(1, -6, 'DecimalSI'), '1u', ''], [dec(80, -6, 'DecimalSI'), '80u', ''],
      [dec(1080, -6, 'DecimalSI'), '1080u', ''],
    ];
    for (const [q, expect, alternate] of table) {
      assert.equal(q.toString(), expect);
      assert.equal(parseQuantity(expect).toString(), expect);
      if (alternate) assert.equal(parseQuantity(alternate).toString(), expect, alternate);
      if (!q.isZero()) assert.equal(q.neg().toString(), `-${expect}`);
    }
  });

  void it('follows upstream TestQuantityParseEmit', () => {
    const table: [string, string][] = [
      ['1Ki', '1Ki'], ['1Mi', '1Mi'], ['1Gi', '1Gi'], ['1024Mi', '1Gi'], ['1000M', '1G'], ['.001Ki', '1024m'], ['.000001Ki', '1024u'],
      ['.000000001Ki', '1024n'], ['.000000000001Ki', '2n'],
    ];
    for (const [input, expect] of table) {
      assert.equal(parseQuantity(input).toString(), expect, input);
      assert.equal(parseQuantity(`-${input}`).toString(), `-${expect}`, `-${input}`);
    }
  });

  void it('canonicalizes the common spellings', () => {
    const table: [string, string][] = [['100m', '100m'], ['1Gi', '1Gi'], ['1500m', '1500m'], ['1.5', '1500m'], ['0.5', '500m'], ['1000m', '1'], ['2000Mi', '2000Mi'], ['0', '0']];
    for (const [input, expect] of table) assert.equal(parseQuantity(input).toString(), expect, input);
    assert.equal(JSON.stringify({ cpu: parseQuantity('0.5') }), '{"cpu":"500m"}');
  });
});

void describe('Quantity values and arithmetic', () => {
  void it('cmp follows upstream TestQuantityCmp', () => {
    const table: [string, string, number][] = [['0', '0', 0], ['100m', '50m', 1], ['50m', '100m', -1], ['10000T', '100Gi', 1], ['1Gi', '1G', 1], ['1000m', '1', 0]];
    for (const [x, y, want] of table) assert.equal(parseQuantity(x).cmp(parseQuantity(y)), want, `${x} vs ${y}`);
  });

  void it('value and milliValue round away from zero', () => {
    assert.equal(parseQuantity('1500m').value(), 2);
    assert.equal(parseQuantity('1500m').milliValue(), 1500);
    assert.equal(parseQuantity('1.0001m').milliValue(), 2);
    assert.equal(parseQuantity('-1500m').value(), -2);
    assert.equal(parseQuantity('1Gi').value(), 1073741824);
    assert.equal(parseQuantity('250m').milliValue(), 250);
    assert.equal(parseQuantity('2').milliValue(), 2000);
    assert.equal(parseQuantity('9.01').scaledValueBig(-1), 91n);
  });

  void it('adds and subtracts exactly, keeping the format (or taking the other when zero)', () => {
    const sum = parseQuantity('100m').add(parseQuantity('1.5'));
    assert.equal(sum.toString(), '1600m');
    assert.equal(parseQuantity('1Gi').sub(parseQuantity('512Mi')).toString(), '512Mi');
    assert.equal(parseQuantity('0').add(parseQuantity('1Gi')).toString(), '1Gi');
    assert.equal(parseQuantity('100m').add(parseQuantity('0')).toString(), '100m');
    assert.equal(parseQuantity('1').sub(parseQuantity('2')).toString(), '-1');
  });

  void it('follows upstream TestQuantityNeg and TestNewSet / TestMilliNewSet', () => {
    assert.equal(dec(901, -2, 'DecimalSI').neg().toString(), '-9010m');
    const set: [number, QuantityFormat, string][] = [[1, 'DecimalSI', '1'], [1000, 'DecimalSI', '1k'], [1234000, 'DecimalSI', '1234k'], [1024, 'BinarySI', '1Ki'], [1024 * 1024, 'BinarySI', '1Mi']];
    for (const [v, f, s] of set) {
      assert.equal(newQuantity(v, f).toString(), s);
      assert.equal(parseQuantity(s).value(), v);
    }
    const milli: [number, QuantityFormat, string][] = [[1, 'DecimalSI', '1m'], [1000, 'DecimalSI', '1'], [1234000, 'DecimalSI', '1234'], [1024, 'BinarySI', '1024m'], [1024 * 1024, 'BinarySI', '1048576m']];
    for (const [v, f, s] of milli) assert.equal(newMilliQuantity(v, f).toString(), s);
  });
});
