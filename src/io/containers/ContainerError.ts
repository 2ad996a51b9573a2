import { SourceError } from '../ByteSource.js';

/**
 * A container (qcow2, EWF, VMDK, VHD, VHDX) that cannot be read: a SourceError,
 * so callers treat it as any failing medium, whose message is
 * "<file>: <format>: <what is wrong, where>".
 */
export class ContainerError extends SourceError {
  constructor(source: string, offset: bigint, message: string) {
    super(source, offset, message);
    this.message = `${source}: ${message}`;
    this.name = 'SourceError';
  }
}
