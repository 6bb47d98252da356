import Foundation
import Governance
import Storage

/// The command centre's HTML: one page sized for a 1366×768 wall screen, charts as inline SVG, nothing fetched from
/// elsewhere; one small script of ours (`/app/static/dashboard.js`) swaps in fresh figures every 30 s without a reload.
enum DashboardPage {
    static let style = """
        *{box-sizing:border-box}body{margin:0;background:#0b1628;color:#dbe7f5;font:13px/1.4 "Noto Sans CJK SC","WenQuanYi Micro Hei","PingFang SC","Microsoft YaHei",sans-serif}
        header{display:flex;align-items:baseline;gap:16px;padding:8px 16px;background:linear-gradient(90deg,#0f2a4a,#0b1628);border-bottom:1px solid #1e3a5f}
        header h1{margin:0;font-size:20px;color:#7dd3fc;letter-spacing:2px}header .meta{margin-left:auto;color:#7f93ad;font-size:12px}
        main{display:grid;grid-template-columns:1fr 1.35fr 1fr;grid-template-rows:1.2fr 1fr;gap:8px;padding:8px 12px;height:calc(100vh - 46px)}
        section{background:#0f1f36;border:1px solid #1e3a5f;border-radius:6px;padding:8px 10px;min-height:0;overflow:hidden}
        section h2{margin:0 0 6px;font-size:14px;color:#93c5fd;font-weight:600}section h2 small{color:#7f93ad;font-weight:400;margin-left:6px}
        .kpis{display:grid;grid-template-columns:1fr 1fr;gap:6px}.kpi{background:#0b1628;border-radius:4px;padding:6px 8px}
        .kpi b{display:block;font-size:22px;color:#f8fafc}.kpi span{color:#7f93ad;font-size:12px}.kpi.bad b{color:#f87171}
        .rings{display:flex;justify-content:space-around;margin-top:6px;text-align:center;color:#7f93ad;font-size:12px}
        table{width:100%;border-collapse:collapse;font-size:12px}th{color:#7f93ad;font-weight:400;text-align:left;border-bottom:1px solid #1e3a5f;padding:2px 4px}
        td{padding:2px 4px;border-bottom:1px solid #132a47;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:180px}
        td.n,th.n{text-align:right}td.wrap{white-space:normal;max-width:none}th{white-space:nowrap}a{color:#7dd3fc;text-decoration:none}.bad{color:#f87171}.ok{color:#4ade80}.warn{color:#fbbf24}
        svg text{fill:#c7d5e8;font-size:11px}svg .label{font-size:12px}svg .value{fill:#f8fafc}svg .axis{fill:#7f93ad;font-size:10px}
        svg .grid{stroke:#1e3a5f;stroke-width:1}svg .ring{fill:#f8fafc;font-size:16px;font-weight:600}svg a text{fill:#7dd3fc}
        ul.posts{margin:4px 0 0;padding:0;list-style:none}ul.posts li{display:flex;gap:6px;padding:2px 0;border-bottom:1px solid #132a47}
        ul.posts li span:first-child{flex:1;overflow:hidden;white-space:nowrap;text-overflow:ellipsis}ul.posts li span:last-child{color:#7f93ad}
        .pill{display:inline-block;padding:0 6px;border-radius:8px;background:#1e3a5f;font-size:11px}
        nav.links{display:flex;gap:12px}nav.links a{color:#93c5fd}.chips{display:flex;flex-wrap:wrap;gap:6px;margin:0 0 8px}.chips a{padding:1px 8px;border:1px solid #1e3a5f;border-radius:10px}
        .chips a.on{background:#1e3a5f;color:#f8fafc}main.queue{display:block;height:auto}
        """

    static func percent(_ share: Double?) -> String { share.map { String(format: "%.0f%%", $0 * 100) } ?? "—" }

    /// `refreshSeconds`: the page swaps in fresh figures this often (nil: a page that does not, such as the sign-in form).
    static func page(title: String, subtitle: String, body: String, refreshSeconds: Int? = nil) -> String {
        """
        <!DOCTYPE html>
        <html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=1366">
        <title>\(escapeHTML(title))</title><style>\(style)</style>\(refreshSeconds == nil ? "" : "<script src=\"/app/static/dashboard.js\" defer></script>")</head>
        <body\(refreshSeconds.map { " data-refresh=\"\($0)\"" } ?? "")><header><h1>\(escapeHTML(title))</h1><span>\(escapeHTML(subtitle))</span>\(refreshSeconds == nil ? "" : "<nav class=\"links\"><a href=\"/dashboard\">指挥中心</a><a href=\"/dashboard/queue\">工单队列</a></nav>")</header>
        \(body)</body></html>
        """
    }

    /// The command centre of a scope.
    static func render(_ data: DashboardData, refreshSeconds: Int = 30) -> String {
        let t = data.totals
        let compliance = (t.responded + t.overdue) > 0 ? Double(t.respondedInTime) / Double(t.responded + t.overdue) : nil
        var html = "<main>"

        // Key figures.
        html += """
            <section><h2>核心指标<small>截至 \(escapeHTML(data.generatedAt))</small></h2><div class="kpis">
            <div class="kpi"><b>\(t.tickets)</b><span>工单总数</span></div>
            <div class="kpi\(t.overdue > 0 ? " bad" : "")"><b>\(t.overdue)</b><span>超15小时未响应</span></div>
            <div class="kpi"><b>\(data.participationTotal.members)</b><span>实名居民</span></div>
            <div class="kpi"><b id="satisfaction">\(stars(t.satisfaction))</b><span>群众满意度（\(t.rated)件评价）</span></div>
            </div><div class="rings">
            <div>\(SVGChart.ring(share: compliance, color: "#38bdf8"))<br>15小时响应率</div>
            <div>\(SVGChart.ring(share: data.answerTotals.inDayShare, color: "#fbbf24"))<br>24小时回复</div>
            <div>\(SVGChart.ring(share: t.solvedInCommitteeShare, color: "#22c55e"))<br>居委会内解决率</div>
            <div>\(SVGChart.ring(share: data.participationTotal.under50Share, color: "#a78bfa"))<br>50岁以下居民</div>
            </div></section>
            """

        // Ticket flow.
        html += """
            <section><h2>工单流转<small>近\(DashboardData.flowWindowDays)天每日新增，按当前状态</small></h2>
            \(SVGChart.stackedColumns(labels: data.flowDays, series: data.flow))
            <h2 style="margin-top:6px">后进居委会<small>15小时响应率最低者在前，点击查看一屏观社区</small></h2>
            <table><tr><th>居委会</th><th class="n">工单</th><th class="n">响应率</th><th class="n">超时</th><th class="n">首次响应 p50</th><th class="n">办结 p90</th><th class="n">满意度</th><th class="n">24h回复</th></tr>
            """
        for unit in data.laggards.prefix(5) {
            html += """
                <tr><td><a href="/dashboard/committees/\(escapeHTML(unit.key))">\(escapeHTML(unit.name))</a></td><td class="n">\(unit.sla.tickets)</td>
                <td class="n \(cls(unit.compliance))">\(percent(unit.compliance))</td><td class="n\(unit.sla.overdue > 0 ? " bad" : "")">\(unit.sla.overdue)</td>
                <td class="n">\(minutes(unit.sla.firstResponseP50Minutes))</td><td class="n">\(minutes(unit.sla.resolutionP90Minutes))</td>
                <td class="n">\(stars(unit.sla.satisfaction))</td><td class="n \(cls(unit.answers?.inDayShare))">\(percent(unit.answers?.inDayShare))</td></tr>
                """
        }
        html += "</table></section>"

        // Hot topics.
        // Uncategorised posts ("other") say nothing about what is trending.
        let hot = data.hot.filter { $0.category != TicketCategory.other.rawValue }
        let hotMax = Double(hot.first?.score ?? 1)
        html += """
            <section><h2>热点话题<small>近7天 发帖+评论+点赞，未分类不计</small></h2>
            \(SVGChart.bars(hot.prefix(7).enumerated().map { i, hot in
                SVGChart.Bar(label: TicketCategory(rawValue: hot.category)?.label ?? hot.category, value: Double(hot.score),
                             text: "\(hot.score)（帖\(hot.posts) 评\(hot.comments) 赞\(hot.likes)）", color: SVGChart.palette[i % SVGChart.palette.count])
            }, maximum: hotMax, width: 400, rowHeight: 20, labelWidth: 70, valueWidth: 170))
            <ul class="posts">\(data.hotPosts.map { "<li><span>\(escapeHTML($0.title))</span><span>评\($0.post.comments) 赞\($0.post.likes)</span></li>" }.joined())</ul>
            </section>
            """

        // SLA by unit, laggards first.
        html += """
            <section><h2>响应时效<small>15小时内首次响应，后进在前</small></h2>
            \(SVGChart.bars(data.units.prefix(10).map { unit in
                SVGChart.Bar(label: unit.name, value: (unit.compliance ?? 0) * 100,
                             text: "\(percent(unit.compliance)) · 超时\(unit.sla.overdue) · 满意\(stars(unit.sla.satisfaction)) · 回复\(percent(unit.answers?.inDayShare))",
                             color: color(unit.compliance))
            }, maximum: 100, width: 400, rowHeight: 22, labelWidth: 110, valueWidth: 190))
            </section>
            """

        // Polls.
        html += "<section><h2>议事投票<small>最近结束的投票</small></h2><table><tr><th>投票</th><th>居委会</th><th class=\"n\">参与率</th><th>结果</th></tr>"
        for (row, committee) in data.polls {
            let leader = row.results.max { $0.votes < $1.votes }
            html += """
                <tr><td>\(escapeHTML(row.title))\(row.secret ? " <span class=\"pill\">无记名</span>" : "")</td><td>\(escapeHTML(committee))</td>
                <td class="n">\(percent(row.turnout))</td><td>\(leader.map { "\(escapeHTML($0.option)) \($0.votes)票" } ?? "—")</td></tr>
                """
        }
        if data.polls.isEmpty { html += "<tr><td colspan=\"4\">暂无已结束的投票</td></tr>" }
        html += "</table></section>"

        // Participation and replication health.
        html += "<section><h2>居民参与</h2><table><tr><th>单位</th><th class=\"n\">居民</th><th class=\"n\">户数</th><th class=\"n\">50岁以下</th><th class=\"n\">党员亮身份</th><th class=\"n\">志愿者</th></tr>"
        for row in data.participation.prefix(6) {
            html += """
                <tr><td>\(escapeHTML(row.key))</td><td class="n">\(row.members)</td><td class="n">\(row.households)</td>
                <td class="n">\(percent(row.under50Share))</td><td class="n">\(row.partyMembers)</td><td class="n">\(row.volunteers)</td></tr>
                """
        }
        html += "</table><h2 style=\"margin-top:8px\">同步状态<small>本节点 \(escapeHTML(data.node)) 与各节点</small></h2><table><tr><th>节点</th><th>连接</th><th class=\"n\">待同步变更</th><th class=\"n\">落后</th></tr>"
        for peer in data.peers {
            let lag = peer.lagChanges == 0 ? "已同步" : (peer.lagSeconds.map { "\($0)秒" } ?? "—")
            html += """
                <tr><td>\(escapeHTML(peer.node))</td><td class="\(peer.connected ? "ok" : "bad")">\(peer.connected ? "在线" : "断开")</td>
                <td class="n">\(peer.lagChanges)</td><td class="n\(peer.lagChanges > 0 ? " warn" : "")">\(lag)</td></tr>
                """
        }
        if data.peers.isEmpty { html += "<tr><td colspan=\"4\">本节点不参与复制</td></tr>" }
        html += "</table></section></main>"
        return page(title: "社区治理指挥中心 · \(data.title)", subtitle: "社区通 · 一网统管", body: html, refreshSeconds: refreshSeconds)
    }

    /// An escalation queue — the street grid centre's or the district platform's tickets, due first — with the
    /// district's departments and the open tickets each holds; `department` narrows it to one.
    static func renderQueue(title: String, level: TicketLevel, tickets: [Ticket], committees: [String: String], departments: [(String, Int)],
                            department: String?, nowMillis: Int64) -> String {
        var html = "<main class=\"queue\"><section><h2>\(escapeHTML(level.agency))工单队列<small>到期在前 · 超时标红 · 共\(tickets.count)件</small></h2>"
        if !departments.isEmpty {
            html += "<div class=\"chips\"><a href=\"/dashboard/queue\"\(department == nil ? " class=\"on\"" : "")>全部</a>"
            for (name, open) in departments {
                let query = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
                html += "<a href=\"/dashboard/queue?department=\(query)\"\(department == name ? " class=\"on\"" : "")>\(escapeHTML(name)) \(open)</a>"
            }
            html += "</div>"
        }
        html += "<table><tr><th>工单</th><th>居委会</th><th>状态</th><th>承办部门</th><th>应答时限</th><th class=\"n\">已过</th></tr>"
        for ticket in tickets {
            let overdue = ticket.isOverdue(nowMillis: nowMillis)
            let age = max(0, nowMillis - ticket.createdMillis) / 60_000
            html += """
                <tr><td class="wrap">\(escapeHTML(ticket.title))</td><td>\(escapeHTML(committees[ticket.committee] ?? ticket.committee))</td>
                <td>\(stageLabel(ticket.stage))</td><td>\(escapeHTML(ticket.assignee ?? "—"))</td>
                <td class="\(overdue ? "bad" : "")">\(escapeHTML(Time.format(ticket.dueMillis)))\(overdue ? " 超时" : "")</td><td class="n">\(minutes(Int(age)))</td></tr>
                """
        }
        if tickets.isEmpty { html += "<tr><td colspan=\"6\">队列为空</td></tr>" }
        html += "</table></section></main>"
        return page(title: "\(level.agency) · \(title)", subtitle: "社区通 · 一网统管", body: html, refreshSeconds: 30)
    }

    /// One committee on one screen.
    static func render(_ screen: CommitteeScreen, names: [String: String]) -> String {
        let c = screen.committee
        let p = screen.participation
        let sla = screen.sla
        var html = "<main style=\"grid-template-rows:auto\">"
        html += """
            <section><h2>居民与队伍<small><a href="/dashboard">← 返回指挥中心</a></small></h2><div class="kpis">
            <div class="kpi"><b>\(p?.members ?? 0)</b><span>实名居民</span></div><div class="kpi"><b>\(p?.households ?? 0)</b><span>覆盖户数</span></div>
            <div class="kpi"><b>\(p?.partyMembers ?? 0)</b><span>党员亮身份</span></div><div class="kpi"><b>\(p?.volunteers ?? 0)</b><span>志愿者</span></div>
            </div><table style="margin-top:6px"><tr><th>工作人员</th><th>角色</th></tr>
            \(screen.staff.prefix(8).map { "<tr><td>\(escapeHTML($0.displayName))</td><td>\(escapeHTML($0.role.label))</td></tr>" }.joined())
            </table></section>
            """
        html += """
            <section><h2>未办结工单<small>超时在前 · 共\(sla?.tickets ?? 0)件，超时\(sla?.overdue ?? 0)件</small></h2>
            <table><tr><th>问题</th><th>类别</th><th>状态</th><th>层级</th><th>时限</th></tr>
            """
        for ticket in screen.openTickets {
            let overdue = ticket.isOverdue(nowMillis: screen.nowMillis)
            html += """
                <tr><td>\(escapeHTML(ticket.title))</td><td>\(escapeHTML(ticket.category.label))</td><td>\(stageLabel(ticket.stage))</td>
                <td>\(escapeHTML(ticket.level.agency))</td><td class="\(overdue ? "bad" : "ok")">\(overdue ? "已超时" : (ticket.firstResponseMillis == nil ? "待响应" : "已响应"))</td></tr>
                """
        }
        if screen.openTickets.isEmpty { html += "<tr><td colspan=\"5\">没有未办结的工单</td></tr>" }
        html += "</table></section>"
        html += "<section><h2>最近投票</h2><table><tr><th>投票</th><th>状态</th><th class=\"n\">票数</th><th>结果</th></tr>"
        for (poll, result) in screen.polls {
            let closed = poll.isClosed(nowMillis: screen.nowMillis)
            let shown = closed || !poll.secret
            let summary = shown ? (result?.results.map { "\(escapeHTML($0.option)) \($0.votes)" }.joined(separator: " / ") ?? "—") : "无记名，结束后公布"
            html += "<tr><td>\(escapeHTML(poll.title))</td><td>\(closed ? "已结束" : "进行中")</td><td class=\"n\">\(result?.ballots ?? 0)</td><td class=\"wrap\">\(summary)</td></tr>"
        }
        html += "</table><h2 style=\"margin-top:8px\">居民热议<small>近7天</small></h2><ul class=\"posts\">"
        html += screen.hotPosts.map { "<li><span>\(escapeHTML($0.title))</span><span>评\($0.post.comments) 赞\($0.post.likes)</span></li>" }.joined()
        html += "</ul></section></main>"
        return page(title: "一屏观社区 · \(c.name)", subtitle: "\(names[c.district] ?? c.district) · \(names[c.street] ?? c.street)", body: html)
    }

    /// The sign-in form shown without a token.
    static func signIn(message: String?) -> String {
        page(title: "社区治理指挥中心", subtitle: "请使用街道、区或市级管理员令牌登录", body: """
            <main style="display:block;max-width:480px;margin:60px auto"><section><h2>登录</h2>
            \(message.map { "<p class=\"bad\">\(escapeHTML($0))</p>" } ?? "")
            <form method="post" action="/dashboard/session"><p><input name="token" type="password" autocomplete="off" style="width:100%;padding:6px" placeholder="令牌"></p>
            <p><button type="submit" style="padding:6px 16px">进入指挥中心</button></p></form></section></main>
            """)
    }

    static func stageLabel(_ stage: TicketStage) -> String {
        switch stage {
        case .submitted: "待受理"
        case .acknowledged: "已受理"
        case .inProgress: "处理中"
        case .resolved: "已解决"
        case .closed: "已评价"
        }
    }

    /// A mean rating out of 5, e.g. `4.6`.
    static func stars(_ value: Double?) -> String { value.map { String(format: "%.1f", $0) } ?? "—" }

    static func minutes(_ value: Int?) -> String {
        guard let value else { return "—" }
        return value < 120 ? "\(value)分" : (value < 2_880 ? "\(value / 60)小时" : "\(value / 1_440)天")
    }

    static func color(_ share: Double?) -> String {
        guard let share else { return "#475569" }
        return share >= 0.95 ? "#22c55e" : (share >= 0.85 ? "#f59e0b" : "#f43f5e")
    }

    static func cls(_ share: Double?) -> String {
        guard let share else { return "" }
        return share >= 0.95 ? "ok" : (share >= 0.85 ? "warn" : "bad")
    }
}
