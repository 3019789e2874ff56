// Signal, update and query definitions shared by the workflows (and, by name, the API and the
// entity activities).
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type {
  AdmissionMessage,
  AdmissionRelease,
  AdmissionRequest,
  CapacityDecision,
  CapacityRequest,
  CapacityReservations,
  LockDecision,
  LockHolder,
  StatusDocument,
} from './types';
import { CAPACITY_QUERY, STATUS_QUERY } from './types';

export const statusQuery = defineQuery<StatusDocument>(STATUS_QUERY);

export const reserveUpdate = defineUpdate<CapacityDecision, [{ requestId: string; userPrincipalName: string }]>(
  'reserve',
);
/** A reservation asked by signal; the entity answers with `capacityDecided` to the requesting run. */
export const requestSlotSignal = defineSignal<[CapacityRequest]>('requestSlot');
export const capacityDecidedSignal = defineSignal<[CapacityDecision & { requestId: string }]>('capacityDecided');
export const releaseCapacitySignal = defineSignal<[{ requestId: string }]>('release');
export const reservationsQuery = defineQuery<CapacityReservations>(CAPACITY_QUERY);

/** Admission entity (workflows/admission.ts): a run asks, is answered, releases. */
export const admitSignal = defineSignal<[AdmissionRequest]>('admit');
export const admissionSignal = defineSignal<[AdmissionMessage]>('admission');
export const releaseAdmissionSignal = defineSignal<[AdmissionRelease]>('releaseAdmission');
/** Slots held per environment (the argument), or in all environments without one. */
export const admissionReservationsQuery = defineQuery<CapacityReservations, [string?]>(CAPACITY_QUERY);

export const acquireUpdate = defineUpdate<LockDecision, [LockHolder]>('acquire');
export const releaseLockSignal = defineSignal<[LockHolder]>('release');
export const lockGrantedSignal = defineSignal<[]>('upnLockGranted');
export const lockStateQuery = defineQuery<{ holder: LockHolder | null; queue: LockHolder[] }>('lockState');

export const NiuEnvironment = defineSearchAttributeKey('NiuEnvironment', SearchAttributeType.KEYWORD);
export const NiuUserPrincipalName = defineSearchAttributeKey('NiuUserPrincipalName', SearchAttributeType.KEYWORD);
export const NiuStep = defineSearchAttributeKey('NiuStep', SearchAttributeType.KEYWORD);
