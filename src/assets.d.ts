// Files imported `with { type: "file" }` resolve to a path (embedded in the compiled binary).
declare module "swagger-ui-dist/swagger-ui-bundle.js" {
  const path: string;
  export default path;
}
declare module "swagger-ui-dist/swagger-ui.css" {
  const path: string;
  export default path;
}
// the dashboard's styles and scripts (src/ui/assets/), embedded the same way (Bun's own types cover *.html)
declare module "*.css" {
  const path: string;
  export default path;
}
declare module "*/assets/app.js" {
  const path: string;
  export default path;
}
declare module "*/assets/login.js" {
  const path: string;
  export default path;
}
