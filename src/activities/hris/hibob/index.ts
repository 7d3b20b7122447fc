export * from './client';
export * from './intake';
export * from './mapping';
export * from './transport';
export * from './webhook';
