// The renderer lives in scripts/ (npm run manifests renders config/install.yaml
// with it); tests import it from here.
export * from '../../../scripts/kustomize.ts';
