/**
 * Distinct types for the three u64s that locate bytes, because mixing them is
 * the costly mistake of this domain: a logical address (the filesystem's one
 * address space, mapped through the chunk tree), a physical offset (bytes
 * from the start of one device: chunk stripe offsets, device extents,
 * superblock copies) and a device id (dev_item.devid, stripe.devid).
 *
 * Values decoded from those fields carry a brand (`Logical`, `Physical`,
 * `DevId`); parameters take the matching `…Input` type, which accepts a plain
 * bigint or its own brand and refuses the two others at compile time. The
 * brand costs nothing at run time: they are plain bigints.
 */

declare const addressKind: unique symbol;

/** An address in the filesystem's logical address space (tree block bytenr, extent bytenr, chunk key offset). */
export type Logical = bigint & { readonly [addressKind]: 'logical' };
/** A byte offset on one device (stripe offset, device extent offset, superblock copy offset). */
export type Physical = bigint & { readonly [addressKind]: 'physical' };
/** A device id (dev_item.devid, stripe.devid). */
export type DevId = bigint & { readonly [addressKind]: 'devid' };

/** A parameter that is a logical address: any bigint but a physical offset or a device id. */
export type LogicalInput = bigint & { readonly [addressKind]?: 'logical' };
/** A parameter that is a physical offset on a device: any bigint but a logical address or a device id. */
export type PhysicalInput = bigint & { readonly [addressKind]?: 'physical' };
/** A parameter that is a device id: any bigint but an address. */
export type DevIdInput = bigint & { readonly [addressKind]?: 'devid' };

/** Marks a bigint as a logical address (where it was read from a logical-address field or computed from one). */
export const asLogical = (v: bigint): Logical => v as Logical;
/** Marks a bigint as a physical offset on a device. */
export const asPhysical = (v: bigint): Physical => v as Physical;
/** Marks a bigint as a device id. */
export const asDevId = (v: bigint): DevId => v as DevId;

/** A place on a device: which device, and the byte offset on it. */
export interface DevicePlace {
  devid: DevId;
  physical: Physical;
}

/** A device place as a parameter: plain bigints or the matching brands. */
export interface DevicePlaceInput {
  devid: DevIdInput;
  physical: PhysicalInput;
}
