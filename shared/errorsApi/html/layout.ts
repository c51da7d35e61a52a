import { html, SafeHtml } from './escape';

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header{background:#0f3d68;color:#fff;padding:12px 24px}header h1{margin:0;font-size:20px}header a{color:#cfe3ff}
main{padding:16px 24px;max-width:1400px}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:12px 16px;margin-bottom:16px}
h2{font-size:16px;margin:0 0 8px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{background:#f6f8fa;font-weight:600;white-space:nowrap}
td.msg{max-width:520px;word-break:break-word}
form.filters{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:end}form.filters label{display:flex;flex-direction:column;font-size:12px;color:#57606a}
input,select,button{font:inherit;padding:4px 8px}button{cursor:pointer;border:1px solid #d0d7de;border-radius:6px;background:#f6f8fa}
button.primary{background:#1f6feb;color:#fff;border-color:#1f6feb}
form.inline{display:inline}
.status{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;background:#eaeef2}
.status.Failed{background:#ffebe9;color:#a40e26}.status.Succeeded{background:#dafbe1;color:#116329}
.status.InvalidBackOfficeSettings,.status.WrongUrl,.status.InvalidBackOfficeType,.status.BackOfficeNotAllowed{background:#fff8c5;color:#7d4e00}
.status.Skipped,.status.Superseded,.status.EmptyBackOffice{background:#ddf4ff;color:#0a3069}
.notice{background:#ddf4ff;border:1px solid #54aeff;padding:8px 12px;border-radius:6px;margin-bottom:12px}
.muted{color:#57606a}code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px}
`;

export function page(title: string, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title><style>${new SafeHtml(STYLE)}</style></head>
<body><header><h1>${title}</h1></header><main>${body}</main></body></html>`.value;
}
