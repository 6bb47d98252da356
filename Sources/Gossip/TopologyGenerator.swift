import Foundation
import Gossip
import Replication

/// The Chinese names of the streets the generator uses, by id.
public enum TopologyGeneratorNames {
    public static var streets: [(String, String)] { TopologyGenerator.streets }
    /// Districts and streets together, by id.
    public static var units: [String: String] {
        Dictionary(TopologyGenerator.districts + TopologyGenerator.streets, uniquingKeysWith: { first, _ in first })
    }
}

/// Writes topologies with realistic Shanghai names and a fresh Ed25519 key per node.
public enum TopologyGenerator {
    /// Shanghai's 16 districts (区), pinyin id and Chinese name.
    static let districts: [(String, String)] = [
        ("huangpu", "黄浦区"), ("xuhui", "徐汇区"), ("changning", "长宁区"), ("jingan", "静安区"), ("putuo", "普陀区"), ("hongkou", "虹口区"),
        ("yangpu", "杨浦区"), ("minhang", "闵行区"), ("baoshan", "宝山区"), ("jiading", "嘉定区"), ("pudong", "浦东新区"), ("jinshan", "金山区"),
        ("songjiang", "松江区"), ("qingpu", "青浦区"), ("fengxian", "奉贤区"), ("chongming", "崇明区"),
    ]
    /// Real street and town names (Baoshan's first), used in turn and numbered when they run out.
    static let streets: [(String, String)] = [
        ("yuepu", "月浦镇"), ("luodian", "罗店镇"), ("luojing", "罗泾镇"), ("gucun", "顾村镇"), ("yanghang", "杨行镇"), ("dachang", "大场镇"),
        ("miaohang", "庙行镇"), ("songnan", "淞南镇"), ("gaojing", "高境镇"), ("youyilu", "友谊路街道"), ("wusong", "吴淞街道"), ("zhangmiao", "张庙街道"),
        ("nanjingdonglu", "南京东路街道"), ("waitan", "外滩街道"), ("xujiahui", "徐家汇街道"), ("tianlin", "田林街道"), ("hongqiao", "虹桥街道"),
        ("jingansi", "静安寺街道"), ("caoyang", "曹杨新村街道"), ("sichuanbeilu", "四川北路街道"), ("wujiaochang", "五角场街道"), ("qibao", "七宝镇"),
        ("anting", "安亭镇"), ("lujiazui", "陆家嘴街道"), ("zhangjiang", "张江镇"), ("shihua", "石化街道"), ("sheshan", "佘山镇"), ("zhujiajiao", "朱家角镇"),
        ("nanqiao", "南桥镇"), ("chengqiao", "城桥镇"),
    ]
    static let committeeSuffixes = ["一村", "二村", "三村", "新村", "花园", "苑", "公寓", "家园", "小区", "里"]

    /// The shape to generate.
    public struct Shape: Sendable {
        public var districts: Int
        public var streetsPerDistrict: [Int]
        public var committeesPerStreet: [Int]
        public var host = "127.0.0.1"
        public var gossipBasePort: Int
        public var httpBasePort: Int

        public init(districts: Int, streetsPerDistrict: [Int], committeesPerStreet: [Int], gossipBasePort: Int, httpBasePort: Int) {
            self.districts = districts
            self.streetsPerDistrict = streetsPerDistrict
            self.committeesPerStreet = committeesPerStreet
            self.gossipBasePort = gossipBasePort
            self.httpBasePort = httpBasePort
        }

        /// The demo: 1 city, 2 districts, 4 streets, 24 committees.
        public static let demo = Shape(districts: 2, streetsPerDistrict: [2, 2], committeesPerStreet: Array(repeating: 6, count: 4),
                                       gossipBasePort: 7080, httpBasePort: 8080)

        /// The whole city: 16 districts, 215 streets, 6,077 committees.
        public static var shanghai: Shape {
            let streets = (0..<16).map { 13 + ($0 < 7 ? 1 : 0) }           // 7 × 14 + 9 × 13 = 215
            let committees = (0..<215).map { 28 + ($0 < 57 ? 1 : 0) }       // 57 × 29 + 158 × 28 = 6,077
            return Shape(districts: 16, streetsPerDistrict: streets, committeesPerStreet: committees, gossipBasePort: 17_000, httpBasePort: 18_000)
        }
    }

    /// Generates the topology, asking `publicKey` for each node's key (base64); the simulator derives them from its seed.
    public static func generate(_ shape: Shape, publicKey key: (NodeID) throws -> String) throws -> Topology {
        var nodes: [TopologyNode] = []
        var index = 0
        func next() -> (gossip: String, http: String) {
            defer { index += 1 }
            return ("\(shape.host):\(shape.gossipBasePort + index)", "\(shape.host):\(shape.httpBasePort + index)")
        }
        let cityAddress = next()
        nodes.append(TopologyNode(id: "city", role: .city, parent: nil, unit: nil, gossip: cityAddress.gossip, http: cityAddress.http, publicKey: try key("city")))
        var streetIndex = 0
        for d in 0..<shape.districts {
            let (districtUnit, _) = districts[(d + 8) % districts.count]   // Baoshan first
            let districtID = "district.\(districtUnit)"
            let address = next()
            nodes.append(TopologyNode(id: districtID, role: .district, parent: "city", unit: districtUnit, gossip: address.gossip, http: address.http,
                                      publicKey: try key(districtID)))
            for _ in 0..<shape.streetsPerDistrict[d] {
                let base = streets[streetIndex % streets.count]
                let unit = streetIndex < streets.count ? base.0 : "\(base.0)\(streetIndex / streets.count + 1)"
                let streetName = streetIndex < streets.count ? base.1 : "\(base.1.dropLast(2))\(streetIndex / streets.count + 1)\(base.1.suffix(2))"
                let id = "street.\(unit)"
                var committees: [String: String] = [:]
                for c in 0..<shape.committeesPerStreet[streetIndex] {
                    let place = streetName.replacingOccurrences(of: "街道", with: "").replacingOccurrences(of: "镇", with: "")
                    let number = c / committeeSuffixes.count
                    committees[String(format: "%@-%02d", unit, c + 1)] = "\(place)\(number > 0 ? "\(number + 1)" : "")\(committeeSuffixes[c % committeeSuffixes.count])居委会"
                }
                let address = next()
                nodes.append(TopologyNode(id: id, role: .street, parent: districtID, unit: unit, gossip: address.gossip, http: address.http,
                                          publicKey: try key(id), committees: committees))
                streetIndex += 1
            }
        }
        return try Topology(nodes: nodes)
    }
}
