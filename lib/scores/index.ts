export * from './maxsim';
export * from './dense';
