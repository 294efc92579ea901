// Moved to core/ (the serving layer names the version in its OpenAPI document too).
export { type PackageInfo, packageInfo } from '../core/package-info.ts'
