/** Decoding of protobuf request bodies (application/vnd.kubernetes.protobuf) into the JSON shape. */
import type { KubeObject } from '../api/meta/types.ts';
import { badRequest } from './errors.ts';
import { decodeProtobufObject, ProtobufDecodeError } from './protobuf/decode.ts';

/** Decodes a `k8s\0`-enveloped protobuf body into a JSON object (400 when undecodable). */
export function decodeProtobufBody(raw: Buffer): KubeObject {
  try {
    return decodeProtobufObject(raw).object as KubeObject;
  } catch (e) {
    if (e instanceof ProtobufDecodeError) throw badRequest(`unable to decode protobuf body: ${e.message}`);
    throw e;
  }
}
