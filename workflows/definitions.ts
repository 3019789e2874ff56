// Signal and query definitions shared by the workflows (and, by name, the API and the entity
// activities), and the custom search attributes.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type {
  AdmissionMessage,
  AdmissionRelease,
  AdmissionRequest,
  CapacityReservations,
  StatusDocument,
} from './types';
import { ADMISSION_SIGNALS, RESERVATIONS_QUERY, STATUS_QUERY } from './types';

export const statusQuery = defineQuery<StatusDocument>(STATUS_QUERY);

/** Admission entity (workflows/admission.ts): a run asks, is answered, releases. */
export const admitSignal = defineSignal<[AdmissionRequest]>(ADMISSION_SIGNALS.admit);
export const admissionSignal = defineSignal<[AdmissionMessage]>(ADMISSION_SIGNALS.answer);
export const releaseAdmissionSignal = defineSignal<[AdmissionRelease]>(ADMISSION_SIGNALS.release);
/** Slots held per environment (the argument), or in all environments without one. */
export const admissionReservationsQuery = defineQuery<CapacityReservations, [string?]>(RESERVATIONS_QUERY);

export const NiuEnvironment = defineSearchAttributeKey('NiuEnvironment', SearchAttributeType.KEYWORD);
export const NiuUserPrincipalName = defineSearchAttributeKey('NiuUserPrincipalName', SearchAttributeType.KEYWORD);
export const NiuStep = defineSearchAttributeKey('NiuStep', SearchAttributeType.KEYWORD);
