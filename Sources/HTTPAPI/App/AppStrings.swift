import Governance

/// The app's words in Chinese (first) and English, by key. Templates read them as `{{t.key}}`; domain names (boards,
/// categories, stages, levels) are looked up with `AppStrings.name(_:_:)`.
enum AppLanguage: String, Sendable, CaseIterable {
    case zh, en

    /// Chinese first: English only when asked for (`?lang=en` on a page before sign-in, then the member's own choice).
    init(query: String?) {
        self = query == "en" ? .en : .zh
    }
}

enum AppStrings {
    static func table(_ language: AppLanguage) -> [String: String] {
        words.mapValues { language == .zh ? $0.0 : $0.1 }
    }

    /// A domain name (`board.around-me`, `category.facilities`, `stage.in_progress`, `level.street`, `event.resolve`).
    static func name(_ key: String, _ language: AppLanguage) -> String {
        guard let pair = words[key] else { return key }
        return language == .zh ? pair.0 : pair.1
    }

    static let words: [String: (String, String)] = {
        var words: [String: (String, String)] = [
            "app": ("社区通", "Shequ"),
            "home": ("首页", "Home"), "polls": ("投票", "Polls"), "tickets": ("随手拍", "Report"), "me": ("我的", "Me"),
            "joinTitle": ("加入居委会", "Join your residents' committee"),
            "joinLead": ("扫码登记：填写实名信息，居委干部审核后即可使用。", "Register with your real name; a cadre approves it and you are in."),
            "realName": ("真实姓名", "Real name"), "phone": ("手机号", "Mobile number"), "building": ("楼号", "Building"), "room": ("室号", "Room"),
            "birthYear": ("出生年份（选填）", "Birth year (optional)"), "partyMember": ("我是党员（亮身份）", "I am a Party member (show the badge)"),
            "submitJoin": ("提交登记", "Register"),
            "waitingTitle": ("等待审核", "Awaiting approval"),
            "waitingLead": ("登记已提交，居委干部审核通过后本页会自动进入。", "Your registration is in. This page moves on by itself once a cadre approves it."),
            "rejected": ("登记未通过，请联系居委会。", "Your registration was not approved; please contact the committee."),
            "boards": ("版块", "Boards"), "unread": ("未读", "unread"), "newPost": ("发帖", "New post"), "title": ("标题", "Title"),
            "body": ("内容", "Text"), "send": ("发布", "Post"), "noPosts": ("还没有帖子。", "No posts yet."),
            "comments": ("评论", "Comments"), "comment": ("评论", "Comment"), "writeComment": ("写评论", "Write a comment"),
            "like": ("点赞", "Like"), "unlike": ("取消赞", "Unlike"), "likes": ("赞", "likes"), "delete": ("删除", "Delete"),
            "edit": ("编辑", "Edit"), "save": ("保存", "Save"),
            "partyBadge": ("党员", "Party member"), "volunteerBadge": ("志愿者", "Volunteer"),
            "openPolls": ("进行中的投票", "Open polls"), "closedPolls": ("已结束", "Closed"), "vote": ("投票", "Vote"), "revote": ("改投", "Change my vote"),
            "myChoice": ("我的选择", "My choice"), "results": ("结果", "Results"), "secretPoll": ("无记名投票：结束后公布结果", "Secret ballot: results after the close"),
            "closesAt": ("截止", "Closes"), "ballots": ("票", "ballots"), "noPolls": ("暂无投票。", "No polls."),
            "myTickets": ("我的随手拍", "My reports"), "newTicket": ("随手拍", "Report a problem"), "category": ("类别", "Category"),
            "description": ("问题描述", "What is wrong"), "address": ("位置", "Where"), "useLocation": ("使用我的位置", "Use my location"),
            "photos": ("照片（最多9张）", "Photos (up to 9)"), "photo": ("照片", "Photo"),
            "photosNotKept": ("离线时照片无法保存，联网后请补拍。", "Photos cannot be kept offline; add them once you are back online."), "submitTicket": ("提交", "Send report"),
            "stage": ("进度", "Stage"), "dueAt": ("应答时限", "Answer due"), "overdue": ("已超时", "overdue"), "level": ("处理层级", "Handled by"),
            "timeline": ("办理记录", "Timeline"), "noEventsYet": ("等待居委会受理。", "Waiting for the committee's answer."), "rate": ("评价", "Rate"), "rating": ("满意度", "Satisfaction"), "stars": ("星", "stars"),
            "noTickets": ("还没有随手拍。", "No reports yet."),
            "language": ("语言", "Language"), "switchLanguage": ("English", "中文"), "sessions": ("已登录的设备", "Signed-in devices"),
            "thisDevice": ("本机", "this device"), "signOut": ("退出登录", "Sign out"), "end": ("下线", "Sign out"),
            "lastSeen": ("最近使用", "last used"),
            "signInTitle": ("登录", "Sign in"),
            "signInLead": ("扫描居委会的二维码登记；换了手机，请向居委干部领取一次性登录码。",
                           "Scan your committee's QR code to register; with a new phone, ask a cadre for a one-time sign-in code."),
            "signInCode": ("一次性登录码", "One-time sign-in code"), "signIn": ("登录", "Sign in"),
            "badCode": ("登录码无效或已过期。", "That code is unknown or expired."),
            "offlineSaved": ("已离线保存，联网后自动发送。", "Saved offline; it is sent once you are back online."),
            "offlineSent": ("离线草稿已发送。", "Your offline draft was sent."),
            "errorTitle": ("出错了", "Something went wrong"), "back": ("返回", "Back"),
            "topics": ("议事", "Topics"), "proposeTopic": ("提出议题", "Propose a topic"), "propose": ("提交议题", "Propose"),
            "noTopics": ("还没有议题。", "No topics yet."), "support": ("附议", "Support"), "unsupport": ("取消附议", "Withdraw support"), "stageProgress": ("协商进程", "Progress"),
            "campaigns": ("志愿活动", "Volunteering"), "noCampaigns": ("暂无志愿活动。", "No campaigns."), "signUp": ("我报名", "Sign me up"),
            "places": ("名额", "places"), "confirmed": ("已确认", "confirmed"), "waitlisted": ("候补第", "waiting list, place "),
            "mySignup": ("我的报名", "My sign-up"), "startsAt": ("开始时间", "Starts"),
            "queues": ("预约排队", "Appointments"), "noQueues": ("暂无预约。", "No appointment queues."), "book": ("预约取号", "Book a number"),
            "myNumber": ("我的号码", "My number"), "taken": ("已取号", "taken"), "queueFull": ("号码已发完。", "All numbers are taken."),
            "slots": ("时段", "Time slots"), "cancelSignup": ("取消报名", "Cancel my sign-up"), "cancelBooking": ("取消预约", "Cancel my booking"),
            "messages": ("私信", "Messages"), "writeTo": ("写私信", "Write"), "noMessages": ("还没有私信。", "No messages yet."),
            "mention": ("@居委干部（选填）", "@ a cadre (optional)"), "nobody": ("不@", "nobody"),
            "search": ("搜索", "Search"), "searchLabel": ("搜索帖子、议题和我的随手拍", "Search posts, topics and my reports"),
            "noResults": ("没有找到。", "Nothing found."),
            "kind.post": ("帖子", "Post"), "kind.topic": ("议题", "Topic"), "kind.ticket": ("随手拍", "Report"),
            "work": ("工作台", "Desk"), "inbox": ("消息", "Inbox"), "markAllRead": ("全部标为已读", "Mark all read"),
            "noNotifications": ("暂无消息。", "Nothing new."), "staffOnly": ("工作台只对居委干部开放。", "The desk is for the committee's cadres."),
            "system": ("系统", "System"),
            "deskMembers": ("待审核居民", "Waiting for approval"), "deskTickets": ("待办随手拍", "Open reports"),
            "deskAnswers": ("待回复", "Awaiting an answer"), "deskQueues": ("叫号", "Calling numbers"), "deskFlags": ("举报", "Flags"),
            "deskCampaigns": ("报名名单", "Rosters"),
            "approve": ("通过", "Approve"), "reject": ("不通过", "Reject"), "noneWaiting": ("没有待审核的居民。", "Nobody is waiting."),
            "due": ("时限", "due"), "acknowledge": ("受理", "Acknowledge"), "escalate": ("上报", "Escalate"), "resolve": ("办结", "Resolve"),
            "noneOpen": ("没有待办。", "Nothing open."), "privateMessage": ("私信", "Message"), "allAnswered": ("都已回复。", "All answered."),
            "closes": ("截止", "closes"), "closePoll": ("结束投票", "Close"), "pollTitle": ("投票标题", "Title"),
            "pollOptions": ("选项（每行一个）", "Options (one per line)"), "pollDays": ("持续天数", "Days open"), "openPoll": ("发起投票", "Open the poll"),
            "waitingCount": ("等候", "waiting"), "nowCalling": ("正在叫号", "Now calling"), "served": ("已办理", "Served"),
            "noShow": ("过号", "No-show"), "callNext": ("叫下一个号", "Call the next number"),
            "hideReason": ("隐藏理由", "Reason to hide"), "hide": ("隐藏", "Hide"), "noFlags": ("没有举报。", "No flags."),
            "reason.mention": ("有人@您", "You were mentioned"), "reason.reply": ("新回复", "A reply"), "reason.message": ("新私信", "A message"),
            "reason.ticket": ("随手拍进展", "Your report"), "reason.approved": ("入会申请已通过", "You were approved"),
            "reason.poll": ("新投票", "A new poll"), "reason.signup_confirmed": ("报名成功", "You have a place"),
            "reason.queue": ("预约叫号", "Your number"), "reason.overdue": ("随手拍超时未响应", "A report is overdue"),
            "booking.waiting": ("等候", "waiting"), "booking.called": ("已叫号", "called"), "booking.served": ("已办理", "served"),
            "booking.no_show": ("过号", "no-show"), "booking.cancelled": ("已取消", "cancelled"),
            "detail.called": ("请到窗口办理", "please come to the desk"), "detail.served": ("已办理", "served"), "detail.no_show": ("已过号", "missed"),
        ]
        for (board, english) in [("announcements", "Notices"), ("party", "Party corner"), ("deliberation", "Deliberation hall"),
                                 ("affairs", "Committee affairs"), ("property", "Property management"), ("owners", "Owners' committee"),
                                 ("police", "Community police"), ("doctor", "Family doctor"), ("legal", "Legal aid"),
                                 ("around-me", "Around me"), ("neighbours", "Neighbours"), ("district-survey", "District survey")] {
            words["board.\(board)"] = (Board.named(board)?.name ?? board, english)
        }
        for (category, english) in [(TicketCategory.environment, "Sanitation"), (.greening, "Greenery"), (.property, "Property"),
                                    (.parking, "Parking"), (.safety, "Safety hazard"), (.facilities, "Public facilities"),
                                    (.neighbours, "Neighbour dispute"), (.traffic, "Traffic"), (.elderly, "Elderly care"), (.other, "Other")] {
            words["category.\(category.rawValue)"] = (category.label, english)
        }
        for (stage, chinese, english) in [(TicketStage.submitted, "已提交", "Submitted"), (.acknowledged, "已受理", "Acknowledged"),
                                          (.inProgress, "处理中", "In progress"), (.resolved, "已解决", "Resolved"), (.closed, "已办结", "Closed")] {
            words["stage.\(stage.rawValue)"] = (chinese, english)
        }
        for (stage, english) in zip(TopicStage.allCases, ["Proposed", "Screened", "Deliberation", "Project", "Implementation", "Evaluation", "Convention"]) {
            words["topicStage.\(stage.rawValue)"] = (stage.label, english)
        }
        for level in TicketLevel.allCases {
            words["level.\(level.name)"] = (level.agency, ["Residents' committee", "Street grid centre", "District platform"][level.rawValue])
        }
        for (type, chinese, english) in [(TicketEventType.acknowledge, "受理", "Acknowledged"), (.comment, "备注", "Note"),
                                         (.assign, "派单", "Assigned"), (.start, "开始处理", "Work started"), (.escalate, "上报", "Escalated"),
                                         (.resolve, "办结", "Resolved"), (.reopen, "重新打开", "Reopened"), (.rate, "评价", "Rated")] {
            words["event.\(type.rawValue)"] = (chinese, english)
            words["detail.\(type.rawValue)"] = (chinese, english)
        }
        return words
    }()
}
