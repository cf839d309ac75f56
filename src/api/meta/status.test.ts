import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fieldError } from './field-errors.ts';
import {
  StatusReason, alreadyExistsStatus, conflictStatus, forbiddenStatus, internalErrorStatus, invalidStatus, methodNotSupportedStatus,
  notFoundStatus, statusFailure, statusSuccess, timeoutStatus, tooManyRequestsStatus,
} from './status.ts';

void describe('invalidStatus', () => {
  void it('builds errors.NewInvalid with several errors', () => {
    const s = invalidStatus('Deployment', 'web', [
      fieldError.invalid('spec.replicas', -1, 'must be greater than or equal to 0'),
      fieldError.required('metadata.name'),
    ], { group: 'apps' });
    assert.deepEqual(s, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Deployment.apps "web" is invalid: [spec.replicas: Invalid value: -1: must be greater than or equal to 0, metadata.name: Required value]',
      reason: 'Invalid',
      details: {
        name: 'web',
        group: 'apps',
        kind: 'Deployment',
        causes: [
          { reason: 'FieldValueInvalid', message: 'Invalid value: -1: must be greater than or equal to 0', field: 'spec.replicas' },
          { reason: 'FieldValueRequired', message: 'Required value', field: 'metadata.name' },
        ],
      },
      code: 422,
    });
  });

  void it('omits brackets for one error and the group for the core group', () => {
    const s = invalidStatus('Pod', 'web', [fieldError.required('metadata.name', 'name or generateName is required')]);
    assert.equal(s.message, 'Pod "web" is invalid: metadata.name: Required value: name or generateName is required');
    assert.equal(s.details?.group, undefined);
    assert.equal(s.details?.kind, 'Pod');
  });

  void it('de-duplicates repeated messages and handles an empty list', () => {
    const e = fieldError.invalid('metadata.labels', 'x y', 'bad');
    assert.equal(invalidStatus('Pod', 'p', [e, e]).message, 'Pod "p" is invalid: metadata.labels: Invalid value: "x y": bad');
    assert.equal(invalidStatus('Pod', 'p', []).message, 'Pod "p" is invalid');
  });
});

void describe('other statuses', () => {
  void it('notFound and alreadyExists name the group resource', () => {
    assert.equal(notFoundStatus({ resource: 'pods' }, 'web').message, 'pods "web" not found');
    const nf = notFoundStatus({ group: 'apps', resource: 'deployments' }, 'web');
    assert.equal(nf.message, 'deployments.apps "web" not found');
    assert.deepEqual([nf.code, nf.reason, nf.details], [404, 'NotFound', { name: 'web', group: 'apps', kind: 'deployments' }]);
    const ae = alreadyExistsStatus({ resource: 'pods' }, 'web');
    assert.deepEqual([ae.code, ae.reason, ae.message], [409, 'AlreadyExists', 'pods "web" already exists']);
  });

  void it('conflict carries the optimistic-lock message', () => {
    const c = conflictStatus({ resource: 'pods' }, 'web');
    assert.equal(c.message, 'Operation cannot be fulfilled on pods "web": the object has been modified; please apply your changes to the latest version and try again');
    assert.deepEqual([c.code, c.reason], [409, StatusReason.Conflict]);
  });

  void it('forbidden, methodNotSupported, internal error, timeout and too many requests', () => {
    assert.equal(forbiddenStatus({ resource: 'pods' }, 'web', 'User "bob" cannot get resource "pods"').message,
      'pods "web" is forbidden: User "bob" cannot get resource "pods"');
    assert.equal(forbiddenStatus({ resource: 'pods' }, '', 'no').message, 'pods is forbidden: no');
    assert.equal(methodNotSupportedStatus({ resource: 'bindings' }, 'list').message, 'list is not supported on resources of kind "bindings"');
    const ie = internalErrorStatus('boom');
    assert.deepEqual([ie.code, ie.message, ie.details], [500, 'Internal error occurred: boom', { causes: [{ message: 'boom' }] }]);
    assert.deepEqual(timeoutStatus('slow', { retryAfterSeconds: 2 }).details, { retryAfterSeconds: 2 });
    assert.equal(tooManyRequestsStatus('later').code, 429);
    assert.equal(tooManyRequestsStatus('later').details, undefined);
  });

  void it('statusFailure and statusSuccess', () => {
    assert.deepEqual(statusFailure({ code: 400, reason: StatusReason.BadRequest, message: 'bad' }), {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'bad', reason: 'BadRequest', code: 400,
    });
    assert.deepEqual(statusSuccess(), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' });
    assert.deepEqual(statusSuccess({ name: 'x', kind: 'pods' }).details, { name: 'x', kind: 'pods' });
  });
});
